"""The hot reads of a page, ``WHERE column IN (...)``, written as SQL once per shape, and
rows turned into models without tortoise's per-row overhead.

tortoise's query builder (pypika) builds, copies and renders a query object for every
statement: for the per-request loaders' reads of a page (rows by a list of keys), building
the statement cost more CPU than SQLite took to run it. These helpers write the same
statement once per (table, columns, key column, order, number of keys, dialect). Everything
else keeps the query builder.

Turning a row into a model (``Model._init_from_db``) cost about 12 µs a row here, and a queue
page turns some 500 rows into models: four bookkeeping attributes set through the model's
own ``__setattr__`` (a ``hasattr`` and a relation check each), a generic conversion call
per column, an ``Enum(value)`` call per enum column. :func:`builder` makes, once per
(model, columns), a function that gives the same model with the same values (a real model:
it can be saved) for about a third of that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar, cast

from tortoise import fields
from tortoise.fields.data import CharEnumFieldInstance
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.timezone import get_default_timezone, get_use_tz

M = TypeVar("M", bound=Model)
Convert = Callable[[Any], Any]


def _datetime_converter(field: fields.DatetimeField) -> Convert:
    """``field.to_python_value``, with its common case (an aware timestamp, tortoise's
    ``use_tz``) made without the generic checks; every other case goes to tortoise.

    The zone is looked up once, not per value as tortoise does (``ZoneInfo(name)`` each
    time), from settings tortoise caches for the process (``get_timezone``,
    ``get_use_tz``); :func:`forget_plans` drops the builders that hold it. A user's row
    builds about 8 % faster (2.53 -> 2.35 µs, interleaved best of 15)."""
    to_python = field.to_python_value
    try:
        from ciso8601 import parse_datetime
    except ImportError:  # pragma: no cover - the accel extra is a dependency
        return to_python
    if not get_use_tz():
        return to_python
    zone = get_default_timezone()
    parsed = _PARSED

    def convert(value: Any) -> Any:
        if value.__class__ is str:
            known = parsed.get(value)
            if known is not None:
                return known
            text, value = value, parse_datetime(value)
            if value.__class__ is datetime and value.utcoffset() is not None:
                value = value.astimezone(zone)
                if len(parsed) >= _PARSED_LIMIT:
                    parsed.clear()
                parsed[text] = value
                return value
        if value.__class__ is datetime and value.utcoffset() is not None:
            return value.astimezone(zone)
        return to_python(value)

    return convert


# SQLite's timestamps (text) as the aware datetimes they become, in tortoise's zone: the same
# rows are read again and again (the first page of a queue, the people on it), and parsing
# and converting a timestamp cost more than the rest of its column. Datetimes are immutable,
# so rows may share them. Dropped with the builders (another database, another zone) and
# when full (some 2 MB).
_PARSED: dict[str, datetime] = {}
_PARSED_LIMIT = 8192


def _enum_converter(field: CharEnumFieldInstance) -> Convert:
    """``enum_type(value)`` through the enum's own value map (``EnumMeta.__call__`` is slow);
    a value the map does not hold goes to tortoise, which raises as before."""
    members = field.enum_type._value2member_map_
    to_python = field.to_python_value

    def convert(value: Any) -> Any:
        member = members.get(value)
        return member if member is not None else to_python(value)

    return convert


def _converter(meta: Any, column: str) -> tuple[Convert | None, bool]:
    """How a column's database value becomes the model's: (function or None for as is,
    whether None is converted too, as tortoise does for its "complex" fields)."""
    for key, _name, _field in meta.db_native_fields:
        if key == column:
            return None, False
    for key, _name, field in meta.db_default_fields:
        if key == column:
            return field.field_type, False
    for key, _name, field in meta.db_complex_fields:
        if key == column:
            if type(field) is fields.DatetimeField:
                return _datetime_converter(field), False
            if type(field) is CharEnumFieldInstance:
                return _enum_converter(field), False
            return field.to_python_value, True
    raise KeyError(column)


def forget_plans() -> None:
    """Drop the builders: tortoise was initialised again, maybe on another database.
    (The statements are keyed by their dialect already.)"""
    builder.cache_clear()
    _PARSED.clear()


@lru_cache(maxsize=256)
def builder(model: type[M], columns: tuple[str | None, ...]) -> Callable[[Sequence[Any]], M]:
    """A function from a row's values to the model, equal to ``model._init_from_db(**row)``.

    ``columns`` names each value of the row; ``None`` marks a value that is not this
    model's (another model's columns of a joined row, an annotation). The values go
    straight into the instance's ``__dict__``, as ``_init_from_db`` does with
    ``object.__setattr__``; the model's own ``__setattr__`` (which tortoise also runs for
    the bookkeeping attributes) has nothing to do for a freshly read row.

    Which columns come from the driver as they are (booleans on PostgreSQL, not on
    SQLite) depends on the database: :func:`forget_plans` drops every builder when
    tortoise is initialised again (the tests open one database after another)."""
    meta = model._meta
    names = {c for c in columns if c is not None}
    if names != set(meta.db_fields) or any(
        hasattr(getattr(model, meta.fields_db_projection_reverse.get(c, c), None), "__set__") for c in names
    ):
        def slow(values: Sequence[Any]) -> M:  # not a whole row of plain fields: tortoise's way
            return model._init_from_db(**{c: v for c, v in zip(columns, values) if c is not None})

        return slow
    plan = []
    for index, column in enumerate(columns):
        if column is not None:
            convert, convert_none = _converter(meta, column)
            plan.append((index, meta.fields_db_projection_reverse.get(column, column), convert, convert_none))
    custom_generated_pk = meta.db_pk_column not in meta.generated_db_fields
    # The function is written out for this plan (as dataclasses writes __init__): one dict
    # display with a term per column, instead of a loop over the plan per row, which took
    # about half of the building.
    namespace: dict[str, Any] = {"new": object.__new__, "model": model, "custom": custom_generated_pk}
    terms = []
    for index, name, convert, convert_none in plan:
        if convert is None:
            terms.append(f"{name!r}: values[{index}]")
        else:
            namespace[f"convert_{index}"] = convert
            terms.append(f"{name!r}: convert_{index}(values[{index}])" if convert_none else
                         f"{name!r}: None if (v_{index} := values[{index}]) is None else convert_{index}(v_{index})")
    source = (
        "def build(values):\n"
        "    instance = new(model)\n"
        "    instance.__dict__.update({'_partial': False, '_saved_in_db': True, '_custom_generated_pk': custom, "
        "'_await_when_save': {}, " + ", ".join(terms) + "})\n"
        "    return instance\n"
    )
    exec(compile(source, f"<builder of {model.__name__}>", "exec"), namespace)  # noqa: S102 - our own text
    return cast(Callable[[Sequence[Any]], M], namespace["build"])


# How a joined row becomes objects: per related model, the attribute it is kept in
# (``_program``), the path of the object that holds it, its own path, its builder, the
# position of its primary key in the row, and the objects already built (shared).
_Related = tuple[str, tuple[Any, ...], tuple[Any, ...], Callable[[Sequence[Any]], Model], int, dict[Any, Model]]


def _assemble(rows: Sequence[Sequence[Any]], main: Callable[[Sequence[Any]], M],
              annotations: Sequence[tuple[str, int]], related: list[_Related]) -> list[M]:
    """The models of joined rows, with their related objects attached as tortoise's
    ``select_related`` attaches them (``None`` for a missing related row). A related row
    that several rows join (the page's two programs, a location with two applications)
    becomes one object they share, as a loader would give it, instead of one object (and
    one decoding of a program's JSON definition) per row."""
    out = []
    setattr_ = object.__setattr__
    for row in rows:
        instance = main(row)
        for name, position in annotations:
            setattr_(instance, name, row[position])
        objects: dict[tuple[Any, ...], Any] = {(None,): instance}
        for attribute, parent, path, build, pk, shared in related:
            key = row[pk]
            if key is None:
                obj = None
            else:
                obj = shared.get(key)
                if obj is None:
                    obj = shared[key] = build(row)
                objects[path] = obj
            target = objects.get(parent)
            if target is not None:
                setattr_(target, attribute, obj)
        out.append(instance)
    return out


async def select_related_rows(query: QuerySet[M]) -> list[M]:
    """``await query`` for a query with ``select_related`` (and annotations): the same
    statement (tortoise still writes it), the same models with the same related objects,
    built by :func:`builder` and :func:`_assemble`. For reads only: the related objects
    are shared between rows.

    It uses tortoise's query internals (``_make_query``, ``_select_related_idx``), as its
    executor does; ``tests/test_rows.py`` compares it with ``await query``."""
    if query._fields_for_select or query._prefetch_map or query._prefetch_queries or query._single:
        return await query  # shapes this does not build (values, prefetches, .first(), .get()): tortoise's way
    if query._db is None:
        query._db = query._choose_db(query._select_for_update)
    query._make_query()
    sql, params = query.query.get_parameterized_sql()
    _, rows = await query._db.execute_query(sql, params)
    if not rows:
        return []
    keys = tuple(rows[0].keys())
    width = len(keys)
    segments = query._select_related_idx
    main_model, main_count = segments[0][0], segments[0][1]
    main = builder(main_model, tuple(k if k in main_model._meta.db_fields else None for k in keys[:main_count])
                   + (None,) * (width - main_count))
    annotations = [(name, keys.index(name)) for name in query._annotations]
    related: list[_Related] = []
    start = main_count
    for model, count, *_, full_path in segments[1:]:
        *parent, attribute = full_path
        columns = tuple(k.split(".", 1)[1] for k in keys[start:start + count])
        pk = start + columns.index(model._meta.db_pk_column)
        build = builder(model, (None,) * start + columns + (None,) * (width - start - count))
        related.append((f"_{attribute}", tuple(parent), tuple(full_path), build, pk, {}))
        start += count
    return _assemble(rows, main, annotations, related)


@lru_cache(maxsize=256)
def _joined(model: type[Model], related: tuple[str, ...], within: str | None, count: int,
            dialect: str) -> tuple[str, tuple[str | None, ...], tuple[tuple[Any, ...], ...]]:
    """The statement of :func:`get_with_related` for one shape, the main model's columns,
    and each related model's (attribute, parent path, path, model, columns, first position)."""
    mark = (lambda i: f"${i}") if dialect == "postgres" else (lambda i: "?")
    tables = [(model, "t0", (None,))]
    joins = []
    parts: list[tuple[Any, ...]] = []
    aliases: dict[tuple[Any, ...], tuple[type[Model], str]] = {(None,): (model, "t0")}
    for expression in related:
        path: tuple[Any, ...] = (None,)
        for name in expression.split("__"):
            parent_model, parent_alias = aliases[path]
            field = parent_model._meta.fields_map[name]
            child_path = (*path, name)
            if child_path not in aliases:
                target = field.related_model  # type: ignore[attr-defined]
                alias = f"t{len(tables)}"
                source = parent_model._meta.fields_db_projection[field.source_field]  # type: ignore[attr-defined]
                joins.append(f'LEFT OUTER JOIN "{target._meta.db_table}" {alias} '
                             f'ON {alias}."{target._meta.db_pk_column}"={parent_alias}."{source}"')
                tables.append((target, alias, child_path))
                aliases[child_path] = (target, alias)
                parts.append((f"_{name}", path, child_path, target))
            path = child_path
    columns: list[str] = []
    selected: list[str] = []
    starts = []
    for table_model, alias, _ in tables:
        starts.append(len(columns))
        for column in table_model._meta.db_fields:
            columns.append(column)
            selected.append(f'{alias}."{column}"')
    main_columns = tuple(columns[:starts[1]] if len(starts) > 1 else columns) + (None,) * (
        len(columns) - (starts[1] if len(starts) > 1 else len(columns)))
    pk = model._meta.db_pk_column
    sql = f'SELECT {",".join(selected)} FROM "{model._meta.db_table}" t0 {" ".join(joins)} WHERE t0."{pk}"={mark(1)}'
    if within is not None:
        sql += (f' AND t0."{within}" IN ({",".join(mark(i) for i in range(2, count + 2))})' if count
                else " AND 1=0")
    plans = []
    for (attribute, parent, path, target), begin, end in zip(parts, starts[1:], [*starts[2:], len(columns)]):
        plans.append((attribute, parent, path, target, tuple(columns[begin:end]), begin))
    return sql, main_columns, tuple(plans)


async def get_with_related(model: type[M], pk: Any, related: tuple[str, ...], *,
                           within: tuple[str, Sequence[Any]] | None = None) -> M | None:
    """``model.filter(<pk>=pk[, <column>__in=values]).select_related(*related).first()``,
    its statement written once per shape (the query builder spent more CPU writing one
    application's joined read than the database spent running it), its rows built by
    :func:`builder`. ``within``: a column and the values it must be one of."""
    meta = model._meta
    db = meta.db
    values = list(within[1]) if within is not None else []
    sql, main_columns, plans = _joined(model, related, within[0] if within is not None else None,
                                       len(values), db.capabilities.dialect)
    _, rows = await db.execute_query(sql, [pk, *values])
    if not rows:
        return None
    width = len(main_columns)
    parts: list[_Related] = []
    for attribute, parent, path, target, columns, begin in plans:
        build = builder(target, (None,) * begin + columns + (None,) * (width - begin - len(columns)))
        parts.append((attribute, parent, path, build, begin + columns.index(target._meta.db_pk_column), {}))
    return _assemble(rows[:1], builder(model, main_columns), (), parts)[0]


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
    columns = tuple(meta.db_fields)
    sql = _statement(meta.db_table, columns, key, extra, order_by, len(values), db.capabilities.dialect)
    build = builder(model, columns)
    _, rows = await db.execute_query(sql, list(values))
    return [build(row) for row in rows]


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
