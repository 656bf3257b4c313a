"""Keyset pagination: pages are cut at (sort key, id), so cursors stay stable while rows are
added, and a page costs the same whatever its depth (no OFFSET scans)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise import fields
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from smbselect.db.rows import select_related_rows
from smbselect.errors import BadRequest
from smbselect.ids import MAX_PK

M = TypeVar("M", bound=Model)
MAX_PAGE_SIZE = 100


@dataclass
class Page(Generic[M]):
    """One page of rows, their cursors, and the unpaged query (for totalCount, on demand)."""

    items: list[M]
    cursors: list[str]
    has_next: bool
    has_previous: bool
    unpaged: QuerySet[M]

    async def total_count(self) -> int:
        return await self.unpaged.count()


def _encode(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode(cursor: str, size: int) -> list[Any]:
    """The values of a cursor we made: a JSON list of scalars ending with a row id.

    A forged cursor (other shapes, an id beyond the 32-bit id column) is the client's
    error, never a server error.
    """
    invalid = BadRequest("The cursor 'after' is not valid.")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except ValueError as exc:
        raise invalid from exc
    if not isinstance(values, list) or len(values) != size:
        raise invalid
    last_id = values[-1]
    if isinstance(last_id, bool) or not isinstance(last_id, int) or not 0 < last_id <= MAX_PK:
        raise invalid
    if any(isinstance(v, (list, dict, bool, float)) for v in values[:-1]):
        raise invalid
    if any(isinstance(v, str) and "\x00" in v for v in values):  # PostgreSQL refuses NUL in text
        raise invalid
    return values


def _fits(model: type[Model], key: str, value: Any) -> bool:
    """Whether a cursor's key value can be compared with the (non-null) key column: a
    forged null, or a value of another type or out of an integer column's range, is the
    client's error, never a database error."""
    if isinstance(model._meta.fields_map[key], fields.IntField):
        return isinstance(value, int) and not isinstance(value, bool) and -MAX_PK - 1 <= value <= MAX_PK
    return isinstance(value, str)


def check_first(first: int | None, default: int) -> int:
    size = default if first is None else first
    if size < 0 or size > MAX_PAGE_SIZE:
        raise BadRequest(f"'first' must be between 0 and {MAX_PAGE_SIZE}.")
    return size


async def keyset_page(
    query: QuerySet[M], key: str, first: int | None, after: str | None, default_first: int,
    *, descending: bool = False,
) -> Page[M]:
    """Rows of ``query`` ordered by (``key``, id), ascending unless ``descending``;
    ``key`` must be non-null."""
    size = check_first(first, default_first)
    paged = query
    if after:
        key_value, last_id = _decode(after, 2)
        if not _fits(query.model, key, key_value):
            raise BadRequest("The cursor 'after' is not valid.")
        op = "lt" if descending else "gt"
        paged = paged.filter(
            Q(**{f"{key}__{op}": key_value}) | Q(**{key: key_value, f"id__{op}": last_id})
        )
    order = (f"-{key}", "-id") if descending else (key, "id")
    rows = await paged.order_by(*order).limit(size + 1)
    has_next = len(rows) > size
    rows = rows[:size]
    cursors = [_encode([getattr(r, key), r.pk]) for r in rows]
    return Page(rows, cursors, has_next, bool(after), query)


def _may_be_null(model: type[Model], key: str) -> bool:
    """Whether ``key`` (a field, or a path across relations) can be null in the page's rows."""
    *relations, name = key.split("__")
    for relation in relations:
        field = model._meta.fields_map[relation]
        if field.null:
            return True  # a missing related row reads as null
        model = field.related_model  # type: ignore[attr-defined]
    return bool(model._meta.fields_map[name].null)


async def nullable_keyset_page(
    query: QuerySet[M],
    key: str,
    first: int | None,
    after: str | None,
    default_first: int,
    *,
    descending: bool = False,
    dump: Any = None,
    load: Any = None,
    related: tuple[str, ...] = (),
) -> Page[M]:
    """Like :func:`keyset_page` for a key that may be null: nulls sort last in either
    direction, ties are broken by id ascending, so cursors are stable.

    ``dump``/``load`` turn key values into JSON and back (dates, datetimes).
    ``key`` may span a relation (``partner__name_fold``); its value is read from the
    annotation ``_sort``. ``related``: relations to read with the rows (select_related).
    """
    from tortoise.expressions import Case, F, RawSQL, Subquery, When

    size = check_first(first, default_first)

    nullable = _may_be_null(query.model, key)

    def nulls_last(q: QuerySet[M]) -> QuerySet[M]:
        # Literal 1/0 (not parameters): the expression is the same in every query, so the
        # database can match it to an index, e.g. (status, nulls flag, review_due_on).
        # A key that is never null needs no flag, and a plain index on it serves the order.
        if not nullable:
            return q
        return q.annotate(_nulls=Case(When(**{f"{key}__isnull": True}, then=RawSQL("1")), default=RawSQL("0")))

    paged = query
    if "__" in key and not nullable:
        # Always true, but it lets the database turn tortoise's LEFT JOIN into an inner one
        # and read the related table's index in order (the partner's name: 120 ms -> 0.4 ms
        # at 1,000,000 applications on PostgreSQL).
        paged = paged.filter(**{f"{key}__isnull": False})
    if after:
        raw_value, last_id = _decode(after, 2)
        if raw_value is None:
            paged = paged.filter(**{f"{key}__isnull": True, "id__gt": last_id})
        else:
            try:
                value = load(raw_value) if load else raw_value
            except (TypeError, ValueError) as exc:
                raise BadRequest("The cursor 'after' is not valid.") from exc
            op = "lt" if descending else "gt"
            later = Q(**{f"{key}__{op}": value}) | Q(**{key: value, "id__gt": last_id})
            paged = paged.filter(later | Q(**{f"{key}__isnull": True}) if nullable else later)
    order = (*(("_nulls",) if nullable else ()), f"-{key}" if descending else key, "id")
    # The page's ids are chosen by a subquery over the rows alone (all of ``query``'s filters,
    # its scope included), which an index can serve in order, stopping after the page; with
    # joins in the same statement every matching row was sorted. The rows themselves and
    # their ``related`` rows are then read by those ids only.
    page_ids = nulls_last(paged).order_by(*order).limit(size + 1).values_list("id", flat=True)
    outer = query.model.filter(id__in=Subquery(page_ids)).select_related(*related)
    rows = await select_related_rows(nulls_last(outer).annotate(_sort=F(key)).order_by(*order))
    has_next = len(rows) > size
    rows = rows[:size]
    cursors = []
    for r in rows:
        value = getattr(r, "_sort", None)
        cursors.append(_encode([dump(value) if (dump and value is not None) else value, r.pk]))
    return Page(rows, cursors, has_next, bool(after), query)
