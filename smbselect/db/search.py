"""Substring search on partner and location names, served by an index (issue 6).

``LIKE '%needle%'`` cannot use a B-tree index, so the search scanned. Migration 0005 builds
trigram indexes over partner.name_fold and location.name_fold: on PostgreSQL GIN indexes
(pg_trgm), which serve ``name_fold LIKE '%needle%'`` as it is; on SQLite FTS5 tables
(``partner_fts``, ``location_fts``, trigram tokenizer), which serve a phrase ``MATCH``. A
trigram index can only look up needles of three characters or more; on SQLite shorter ones
scan the names (``instr``), on PostgreSQL the planner decides.

The name_fold columns and the needle are both casefolded (:func:`smbselect.db.models.fold`),
so every comparison here is exact and case-sensitive: the same answer as a substring test
in Python. The queue (:func:`applications_matching`) first reads the matching ids in one
statement, then filters by them, or row by row when there are too many; the benchmark's
hand-written baseline uses the same functions.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from pypika_tortoise.context import SqlContext
from pypika_tortoise.terms import Term, ValueWrapper
from tortoise import connections
from tortoise.expressions import Q

SEARCHED = ("partner", "location")
TRIGRAM = 3  # characters: shorter needles hold no trigram to look up


def dialect(connection_name: str = "default") -> str:
    """``"sqlite"``, ``"postgres"``, ... of the connection."""
    return connections.get(connection_name).capabilities.dialect


def fts5_phrase(needle: str) -> str:
    """``needle`` as one FTS5 phrase: quoted, so no character of it is query syntax."""
    return '"' + needle.replace('"', '""') + '"'


def like_contains(needle: str) -> str:
    """A LIKE pattern (``ESCAPE '\\'``) matching text that contains ``needle`` literally."""
    return "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def ids_containing(table: str, needle: str, dialect: str) -> tuple[str, str]:
    """``(sql, parameter)``: a SELECT of the ids of the rows of ``table`` ("partner" or
    "location") whose name_fold contains the (folded) ``needle``; its one ``?`` takes
    ``parameter``."""
    if table not in SEARCHED:
        raise ValueError(f"no search index on {table!r}")
    if dialect == "sqlite":
        if len(needle) >= TRIGRAM:
            fts = f'"{table}_fts"'
            return f"SELECT rowid FROM {fts} WHERE {fts} MATCH ?", fts5_phrase(needle)
        return f'SELECT id FROM "{table}" WHERE instr(name_fold, ?) > 0', needle
    return f"SELECT id FROM \"{table}\" WHERE name_fold LIKE ? ESCAPE '\\'", like_contains(needle)


class _Select(Term):
    """``(sql)`` as the right side of an ``__in`` filter, its one ``?`` a query parameter."""

    def __init__(self, sql: str, parameter: Any) -> None:
        super().__init__()
        self.before, self.after = sql.split("?")
        self.parameter = parameter

    def get_sql(self, ctx: SqlContext) -> str:
        if ctx.parameterizer is not None:
            mark = ctx.parameterizer.create_param(self.parameter).get_sql(ctx)
        else:  # QuerySet.sql() without parameters: an escaped literal
            mark = ValueWrapper(self.parameter).get_sql(ctx)
        return f"({self.before}{mark}{self.after})"


# Up to this many matching partners (and as many locations), the queue filters applications
# by the ids themselves, which the application.partner_id and location_id indexes serve at
# once. A needle that matches more names (a common word) is instead checked row by row
# while the queue's ordered index is read, which stops at a full page. At 1,000,000
# applications on PostgreSQL: a common word took 140-190 ms by ids and 3 ms row by row; a
# rare name 3 ms by ids, while row by row it reads the whole queue (with the names as hashed
# subqueries, the first version, 50 ms and 150-240 ms).
NAMES_AT_MOST = 2000


def row_by_row(table: str, column: str, needle: str, dialect: str) -> tuple[str, str]:
    """``(sql, parameter)`` of a SELECT for ``application.{column} IN (...)`` that checks
    the row's own partner or location by primary key (PostgreSQL), so the queue's ordered
    index scan decides the cost; on SQLite the FTS list, materialised once, is as quick."""
    if dialect == "sqlite":
        return ids_containing(table, needle, dialect)
    sql = (f'SELECT m.id FROM "{table}" m WHERE m.id = "application"."{column}" '
           "AND m.name_fold LIKE ? ESCAPE '\\'")
    return sql, like_contains(needle)


async def matching_ids(needle: str, dialect: str) -> tuple[list[int], list[int]] | None:
    """The ids of the partners and of the locations whose name contains ``needle``, read in
    one statement; None when either kind has more than ``NAMES_AT_MOST``."""
    partner_sql, partner_arg = ids_containing("partner", needle, dialect)
    location_sql, location_arg = ids_containing("location", needle, dialect)
    cap = NAMES_AT_MOST + 1
    sql = (f"SELECT 'p', found.* FROM ({partner_sql} LIMIT {cap}) found UNION ALL "
           f"SELECT 'l', found.* FROM ({location_sql} LIMIT {cap}) found")
    if dialect == "postgres":
        sql = sql.replace("?", "$1", 1).replace("?", "$2", 1)
    _, rows = await connections.get("default").execute_query(sql, [partner_arg, location_arg])
    partner_ids = [row[1] for row in rows if row[0] == "p"]
    location_ids = [row[1] for row in rows if row[0] == "l"]
    if len(partner_ids) > NAMES_AT_MOST or len(location_ids) > NAMES_AT_MOST:
        return None
    return partner_ids, location_ids


# PostgreSQL reads up to NAMES_AT_MOST + 1 names of a common word before giving up on the
# ids (6-10 ms at 1,000,000 applications for "bilişim", one partner in 16); a sample of
# the first SAMPLE names of each table (2 ms) recognises such a word first. A needle the
# sample cannot call common (rare, middling, or a small table) is counted as before.
SAMPLE = 4000


async def looks_common(needle: str) -> bool:
    """PostgreSQL: whether the sample says either table has clearly more names containing
    ``needle`` than NAMES_AT_MOST (twice as many, scaled by the table's estimated size)."""
    sample = (
        "(SELECT count(*) FROM (SELECT name_fold FROM \"{table}\" ORDER BY id LIMIT {n}) s "
        "WHERE name_fold LIKE $1 ESCAPE '\\'), "
        "(SELECT reltuples FROM pg_class WHERE oid = '\"{table}\"'::regclass)"
    )
    sql = "SELECT " + ", ".join(sample.format(table=table, n=SAMPLE) for table in SEARCHED)
    _, rows = await connections.get("default").execute_query(sql, [like_contains(needle)])
    row = list(rows[0].values())
    for found, rows_estimate in zip(row[0::2], row[1::2], strict=True):
        if rows_estimate > SAMPLE and found * rows_estimate / SAMPLE > 2 * NAMES_AT_MOST:
            return True
    return False


# What the sample said of a needle, for a while: an admin who searches pages through the
# results, and each page asked the sample again (3-4 ms of a 30-50 ms page at 1,000,000
# applications). The verdict only picks the plan; either plan gives the same rows, so a
# stale one costs time, never a wrong answer.
VERDICT_SECONDS = 600.0
VERDICTS_AT_MOST = 1024
_verdicts: OrderedDict[str, tuple[float, bool]] = OrderedDict()


def forget() -> None:
    """Drop the remembered verdicts (the database was opened again, maybe another one)."""
    _verdicts.clear()


async def _common(needle: str) -> bool:
    """:func:`looks_common`, remembered for ``VERDICT_SECONDS``."""
    now = time.monotonic()
    known = _verdicts.get(needle)
    if known is not None and now - known[0] < VERDICT_SECONDS:
        return known[1]
    verdict = await looks_common(needle)
    _verdicts[needle] = (now, verdict)
    _verdicts.move_to_end(needle)
    while len(_verdicts) > VERDICTS_AT_MOST:
        _verdicts.popitem(last=False)
    return verdict


async def names_matching(needle: str, dialect: str) -> tuple[list[int], list[int]] | None:
    """The ids of :func:`matching_ids`, or None when the needle matches too many names for
    the page to filter by ids (on PostgreSQL first judged by :func:`looks_common`)."""
    if dialect == "postgres" and await _common(needle):
        return None
    return await matching_ids(needle, dialect)


async def applications_matching(needle: str, dialect: str) -> Q:
    """Filter of the applications whose partner's or location's name contains ``needle``
    (folded, without NUL): ``partner_id IN (ids) OR location_id IN (ids)`` with the ids of
    :func:`names_matching`, or, when the needle matches more names, :func:`row_by_row`."""
    found = await names_matching(needle, dialect)
    if found is None:
        return Q(partner_id__in=_Select(*row_by_row("partner", "partner_id", needle, dialect))) | Q(
            location_id__in=_Select(*row_by_row("location", "location_id", needle, dialect))
        )
    partner_ids, location_ids = found
    if not partner_ids and not location_ids:
        return Q(id__in=[0])  # ids start at 1: nothing matches
    matching = Q(partner_id__in=partner_ids) if partner_ids else Q(location_id__in=location_ids)
    if partner_ids and location_ids:
        matching |= Q(location_id__in=location_ids)
    return matching
