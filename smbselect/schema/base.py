"""Shapes shared by every domain: Node, PageInfo, user errors, and the typed Info."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any, TypeVar

import strawberry
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from strawberry.types import Info as StrawberryInfo

from smbselect import ids
from smbselect.context import Context
from smbselect.errors import DomainError
from smbselect.resolvers.loaders import MISSING
from smbselect.schema.enums import ErrorCode

Info = StrawberryInfo[Context, None]
T = TypeVar("T")


@lru_cache(maxsize=8192)
def global_id(type_name: str, pk: int) -> strawberry.ID:
    """``ids.encode``, remembered: a queue page encodes some 350 ids (its rows, programs,
    locations, partners, allocated people), most of them again on the next page."""
    return strawberry.ID(ids.encode(type_name, pk))


def ready_or(value: Any, shape: Callable[[Any], T], later: Callable[[], Awaitable[Any]]) -> T:
    """``shape(value)`` at once when the request already holds ``value`` (not ``MISSING``),
    else an awaitable of ``shape(await later())``.

    Fields of list pages use it from plain ``def`` resolvers: graphql-core turns every
    awaitable field into an asyncio task, and on a page of 50 applications those tasks
    cost more than the database. A page resolver prefetches, its rows' fields answer now.
    """
    if value is not MISSING:
        return shape(value)

    async def resolve() -> T:
        return shape(await later())

    return resolve()  # type: ignore[return-value]


# By the identity of a field's nodes (kept alive, so that their ids stay theirs): the
# nodes of a cached document are the same objects in every request. Cleared when full.
_SELECTED: dict[tuple[int, ...], tuple[list[FieldNode], frozenset[str]]] = {}
_SELECTED_LIMIT = 4096


def selected_names(info: Info) -> frozenset[str]:
    """Every field name selected at any depth below the current field, fragments included:
    a page resolver's look-ahead (what to prefetch for its rows).

    Walked once per field of a document, not per request: the same nodes always select the
    same names (their fragments are the same document's)."""
    raw = info._raw_info
    field_nodes = list(raw.field_nodes)
    key = tuple(id(node) for node in field_nodes)
    known = _SELECTED.get(key)
    if known is not None:
        return known[1]
    names: set[str] = set()
    seen_fragments: set[str] = set()

    def walk(selection_set: SelectionSetNode | None) -> None:
        if selection_set is None:
            return
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                names.add(node.name.value)
                walk(node.selection_set)
            elif isinstance(node, InlineFragmentNode):
                walk(node.selection_set)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen_fragments:
                seen_fragments.add(node.name.value)
                fragment = raw.fragments.get(node.name.value)
                walk(fragment.selection_set if fragment else None)

    for field_node in field_nodes:
        walk(field_node.selection_set)
    if len(_SELECTED) >= _SELECTED_LIMIT:
        _SELECTED.clear()
    found = frozenset(names)
    _SELECTED[key] = (field_nodes, found)
    return found


@strawberry.interface(name="Node")
class Node:
    id: strawberry.ID


@strawberry.type(name="PageInfo")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.interface(name="DisplayableError")
class DisplayableError:
    field: list[str] | None = strawberry.field(
        description="Path from the mutation's arguments to the offending value, "
        'e.g. ["input", "allocations", "2", "userId"].'
    )
    message: str


@strawberry.type(name="UserError")
class UserError(DisplayableError):
    code: ErrorCode


def user_errors(error: DomainError) -> list[UserError]:
    return [
        UserError(
            field=list(p.field) if p.field is not None else None,
            message=p.message,
            code=ErrorCode[p.code.value],
        )
        for p in error.problems
    ]


async def run_mutation(
    call: Callable[[], Awaitable[T]], on_success: Callable[[T], Any], on_error: Callable[[list[UserError]], Any]
) -> Any:
    """Run a resolver; a ``DomainError`` becomes the payload's ``userErrors``."""
    try:
        result = await call()
    except DomainError as error:
        return on_error(user_errors(error))
    return on_success(result)
