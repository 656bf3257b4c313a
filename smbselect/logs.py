"""Logging: structlog rendering for our own and the stdlib's records.

Development gets readable console lines; production gets one JSON object per line.
"""

from __future__ import annotations

import logging

import structlog

from smbselect.settings import Settings


def configure_logging(settings: Settings) -> None:
    renderer = (
        structlog.processors.JSONRenderer()
        if settings.is_production
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[*shared, structlog.processors.format_exc_info],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


SQL_VERBS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"})


def is_sql_statement(record: logging.LogRecord) -> bool:
    """Whether a ``tortoise.db_client`` debug record is a statement sent to the database.

    tortoise logs each one as ``("%s: %s", query, values)`` or a bare script; the query is
    read without formatting the record (the benchmark's per-request counter runs on every
    statement). The X-SQL-Count header and the test kit's SqlCounter both count with this.
    """
    query = record.args[0] if isinstance(record.args, tuple) and record.args else record.msg
    head = str(query).lstrip()[:8].split(None, 1)
    return bool(head) and head[0].upper() in SQL_VERBS
