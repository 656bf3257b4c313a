"""The hot reads of a page, ``WHERE column IN (...)``, written as SQL once per shape.

tortoise's query builder (pypika) builds, copies and renders a query object for every
statement: for the per-request loaders' reads of a page (rows by a list of keys), building
the statement cost more CPU than SQLite took to run it. These helpers write the same
statement once per (table, columns, key column, order, number of keys, dialect) and turn
the rows into models as tortoise does (``_init_from_db``). Everything else keeps the
query builder.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, TypeVar

from tortoise.models import Model

M = TypeVar("M", bound=Model)


@lru_cache(maxsize=2048)
def _statement(table: str, columns: tuple[str, ...], key: str, extra: str, order_by: tuple[str, ...],
               count: int, dialect: str) -> str:
    params = ",".join(f"${i}" for i in range(1, count + 1)) if dialect == "postgres" else ",".join("?" * count)
    selected = ",".join(f'"{column}"' for column in columns)
    sql = f'SELECT {selected} FROM "{table}" WHERE "{key}" IN ({params})'
    if extra:
        sql += f" AND {extra}"
    if order_by:
        sql += " ORDER BY " + ",".join(f'"{c}" ASC' for c in order_by)
    return sql


async def rows_where_in(model: type[M], key: str, values: Sequence[Any], *, order_by: tuple[str, ...] = (),
                        extra: str = "") -> list[M]:
    """``model.filter(<key>__in=values[, extra]).order_by(*order_by)``, as models.

    ``key`` and ``order_by`` are column names; ``extra`` a fixed SQL condition without
    parameters (``'"withdrawn_at" IS NULL'``)."""
    if not values:
        return []
    meta = model._meta
    db = meta.db
    sql = _statement(meta.db_table, tuple(meta.db_fields), key, extra, order_by, len(values),
                     db.capabilities.dialect)
    init = model._init_from_db
    return [init(**row) for row in await db.execute_query_dict(sql, list(values))]


async def pairs_where_in(model: type[Model], key: str, values: Sequence[Any], columns: tuple[str, ...], *,
                         order_by: tuple[str, ...] = (), extra: str = "") -> list[tuple[Any, ...]]:
    """``model.filter(<key>__in=values).values_list(*columns)`` for columns whose database
    value is the Python value (ids, text): no conversion is made."""
    if not values:
        return []
    meta = model._meta
    db = meta.db
    sql = _statement(meta.db_table, columns, key, extra, order_by, len(values), db.capabilities.dialect)
    _, rows = await db.execute_query(sql, list(values))
    return [tuple(row[c] for c in columns) for row in rows]
