"""Several reads in one statement: :func:`read` answers each as a list of rows.

One application with everything took ten statements: its trail, emails, uploads,
allocations, terms, people, their certifications and staff rows. Each statement cost the
server far more than the database (a task, tortoise's lock, SQLite's thread hop, two or three
event-loop turns): about 0.5 M instructions, where the database's own work was a few
thousand. Here every read is a scalar subquery of one ``SELECT``:

- SQLite: a JSON array of arrays (``json_group_array`` over the ordered subquery), whose
  values are the ones the driver gives for a plain ``SELECT`` (text, integers, reals, null;
  no table read this way holds a blob);
- PostgreSQL: an array of records (``ARRAY(SELECT ROW(...) ... ORDER BY ...)``), which
  asyncpg decodes with the same codecs as the plain columns.

So :func:`smbselect.db.rows.builder` makes the same models from them. Conditions may hold
subqueries of their own: the people of an application's allocations are read in the same
statement as the allocations. ``tests/test_bundle.py`` compares every read with the plain one
on both databases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from tortoise.models import Model

from smbselect.db.rows import builder


@dataclass(frozen=True)
class Read:
    """``SELECT <columns> FROM <model's table> WHERE <condition> ORDER BY <order_by>``.

    ``condition`` is SQL with a ``?`` for each of ``params``, in order (numbered for
    PostgreSQL by :func:`read`). ``columns``: the values to return as tuples; none means
    every column, returned as models."""

    model: type[Model]
    condition: str
    params: tuple[Any, ...] = ()
    order_by: tuple[str, ...] = ()
    columns: tuple[str, ...] | None = None

    def selected(self) -> tuple[str, ...]:
        return self.columns if self.columns is not None else tuple(self.model._meta.db_fields)


def marks(count: int) -> str:
    """``?,?,?``: the placeholders of an ``IN`` list."""
    return ",".join("?" * count)


@lru_cache(maxsize=512)
def _statement(shapes: tuple[tuple[str, tuple[str, ...], str, tuple[str, ...]], ...], dialect: str) -> str:
    parts = []
    for table, columns, condition, order_by in shapes:
        selected = ",".join(f'"{c}"' for c in columns)
        inner = f'SELECT {selected} FROM "{table}" WHERE {condition}'
        if order_by:
            inner += " ORDER BY " + ",".join(f'"{c}"' for c in order_by)
        if dialect == "postgres":
            parts.append(f"ARRAY(SELECT ROW({selected}) FROM ({inner}) AS r)")
        else:
            parts.append(f"(SELECT json_group_array(json_array({selected})) FROM ({inner}))")
    sql = "SELECT " + ", ".join(parts)
    if dialect == "postgres":
        pieces = sql.split("?")
        sql = pieces[0] + "".join(f"${n}{piece}" for n, piece in enumerate(pieces[1:], start=1))
    return sql


async def read(reads: Sequence[Read]) -> list[list[Any]]:
    """The rows of each read, in its order: models when the read names no columns, tuples of
    the columns' values otherwise. One statement, on the connection of the first read's
    model (a transaction's, inside one)."""
    if not reads:
        return []
    db = reads[0].model._meta.db
    dialect = db.capabilities.dialect
    shapes = tuple((r.model._meta.db_table, r.selected(), r.condition, r.order_by) for r in reads)
    params = [p for r in reads for p in r.params]
    _, rows = await db.execute_query(_statement(shapes, dialect), params)
    row = rows[0]
    out: list[list[Any]] = []
    for index, r in enumerate(reads):
        value = row[index]
        found: list[Any] = orjson.loads(value) if dialect != "postgres" else list(value or ())
        if r.columns is None:
            build = builder(r.model, shapes[index][1])
            out.append([build(values) for values in found])
        else:
            out.append([tuple(values) for values in found])
    return out
