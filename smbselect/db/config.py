"""Connection config for tortoise, built from a database URL."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import ConfigurationError

MODELS_MODULE = "smbselect.db.models"
MIGRATIONS_MODULE = "smbselect.db.migrations"
APP_LABEL = "models"
SQLITE_ENGINE = "smbselect.db.sqlite_engine"
# The engines smbselect runs on. smbselect.db.rows reads rows by position and writes
# PostgreSQL's $n placeholders, as sqlite3 and asyncpg take them; tortoise's other
# backends (psycopg, MySQL, ...) hand rows over differently.
SUPPORTED_ENGINES = ("tortoise.backends.sqlite", "tortoise.backends.asyncpg")


def check_database_url(database_url: str) -> str:
    """``database_url`` if smbselect can run on it, else a ValueError that says which can."""
    try:
        engine = expand_db_url(database_url)["engine"]
    except (ConfigurationError, ValueError) as exc:  # an unknown scheme, a port that is not a number
        raise ValueError(f"not a database URL smbselect understands: {exc}") from None
    if engine not in SUPPORTED_ENGINES:
        raise ValueError("smbselect runs on SQLite (sqlite://FILE) or on PostgreSQL through asyncpg "
                         "(postgres://USER:PASS@HOST:PORT/DB); this URL asks for " + engine.rsplit(".", 1)[-1])
    return database_url


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The tortoise config dict for ``database_url`` (sqlite://FILE or postgres://...).

    SQLite gets a busy timeout so that concurrent writers (several requests, the mail
    relay) wait for each other instead of failing with "database is locked", and our
    engine (:mod:`smbselect.db.sqlite_engine`), whose transactions take the write lock when
    they begin, so that the timeout applies to them too.
    """
    connection = expand_db_url(database_url)
    if connection["engine"].endswith(".sqlite"):
        connection["engine"] = SQLITE_ENGINE
        connection["credentials"].setdefault("busy_timeout", 10000)
        connection["credentials"].setdefault("synchronous", "NORMAL")
    return {
        "connections": {"default": connection},
        "apps": {
            APP_LABEL: {
                "models": [MODELS_MODULE],
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def is_sqlite(database_url: str) -> bool:
    return database_url.startswith("sqlite")


def _cli_config() -> dict[str, Any]:
    """Config for tortoise's own CLI (``tortoise -c smbselect.db.config.TORTOISE_ORM ...``)."""
    import os

    return tortoise_config(os.environ.get("SMBSELECT_DATABASE_URL", "sqlite://smbselect.sqlite3"))


TORTOISE_ORM = _cli_config()
