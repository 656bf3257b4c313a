"""The exception hierarchy, in one place.

``DomainError`` is a business rule saying no: the schema turns it into ``userErrors`` on the
mutation's payload. ``AccessError`` subclasses become top-level GraphQL errors with
``extensions.code`` (UNAUTHENTICATED, FORBIDDEN). Anything else is a bug: masked for the
client as "Unexpected error." and logged in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum


class ErrorCode(str, Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    UNIQUE = "UNIQUE"
    INVALID_STATUS = "INVALID_STATUS"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    NOT_QUALIFIED = "NOT_QUALIFIED"
    TOO_MANY_ROLES = "TOO_MANY_ROLES"
    ROLES_MISSING = "ROLES_MISSING"
    TERMS_NOT_ACCEPTED = "TERMS_NOT_ACCEPTED"
    TERMS_DECLINED = "TERMS_DECLINED"
    DOCUMENT_MISSING = "DOCUMENT_MISSING"
    INVITATION_INVALID = "INVITATION_INVALID"
    RATE_LIMITED = "RATE_LIMITED"
    PROGRAM_UNAVAILABLE = "PROGRAM_UNAVAILABLE"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: what, where (path from the mutation's arguments), why."""

    code: ErrorCode
    message: str
    field: tuple[str, ...] | None = None


@dataclass
class DomainError(Exception):
    """A rule said no. Carries every problem found, so a form can show them all at once."""

    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def one(
        cls, code: ErrorCode, message: str, field: Sequence[str] | None = None
    ) -> DomainError:
        return cls([Problem(code, message, tuple(field) if field is not None else None)])

    def __str__(self) -> str:
        return "; ".join(p.message for p in self.problems)


NOT_FOUND_MESSAGE = "Not found."


def not_found(field: Sequence[str] | None = None) -> DomainError:
    """The one answer for a missing object *and* for one the actor may not see."""
    return DomainError.one(ErrorCode.NOT_FOUND, NOT_FOUND_MESSAGE, field)


class AccessError(Exception):
    """A top-level error about who is calling; ``code`` goes to ``extensions.code``."""

    code = "FORBIDDEN"
    default_message = "You are not allowed to do this."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)


class Unauthenticated(AccessError):
    code = "UNAUTHENTICATED"
    default_message = "Log in first: send Authorization: Bearer <token>."


class Forbidden(AccessError):
    code = "FORBIDDEN"
    default_message = "You are not allowed to do this."


class BadRequest(AccessError):
    """A malformed request (an argument out of range): a top-level error, not a rule."""

    code = "BAD_USER_INPUT"
    default_message = "Bad request."
