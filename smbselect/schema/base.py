"""Shapes shared by every domain: Node, PageInfo, user errors, and the typed Info."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info as StrawberryInfo

from smbselect.context import Context
from smbselect.errors import DomainError
from smbselect.schema.enums import ErrorCode

Info = StrawberryInfo[Context, None]
T = TypeVar("T")


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
