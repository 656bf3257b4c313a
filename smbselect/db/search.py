"""Substring search on partner and location names, served by an index (issue 6).

``LIKE '%needle%'`` cannot use a B-tree index, so the search scanned. Migration 0005 builds
trigram indexes over partner.name_fold and location.name_fold: on PostgreSQL GIN indexes
(pg_trgm), which serve ``name_fold LIKE '%needle%'`` as it is; on SQLite FTS5 tables
(``partner_fts``, ``location_fts``, trigram tokenizer), which serve a phrase ``MATCH``. A
trigram index can only look up needles of three characters or more; on SQLite shorter ones
scan the names (``instr``), on PostgreSQL the planner decides.

The name_fold columns and the needle are both casefolded (:func:`smbselect.db.models.fold`),
so every comparison here is exact and case-sensitive: the same answer as a substring test
in Python. Each search is one SELECT of matching ids with one ``?`` for its parameter, used by
the queue (:func:`applications_matching`) and by the hand-written baseline of the benchmark.
"""

from __future__ import annotations

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


def applications_matching(needle: str, dialect: str) -> Q:
    """Filter of the applications whose partner's or location's name contains ``needle``
    (folded, without NUL): ``partner_id IN (...) OR location_id IN (...)``, each list read
    from the index, so no name of the joined rows is compared."""
    return Q(partner_id__in=_Select(*ids_containing("partner", needle, dialect))) | Q(
        location_id__in=_Select(*ids_containing("location", needle, dialect))
    )
