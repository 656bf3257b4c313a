"""The contract's enums, with its descriptions, mapped by name onto the domain's enums."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(name="ErrorCode")
class ErrorCode(Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    UNIQUE = "UNIQUE"
    INVALID_STATUS = strawberry.enum_value(
        "INVALID_STATUS", description="The object is not in a status that allows this step."
    )
    NOT_ELIGIBLE = strawberry.enum_value(
        "NOT_ELIGIBLE",
        description="The partner is not a registered partner, or has no user who can log in.",
    )
    NOT_QUALIFIED = strawberry.enum_value(
        "NOT_QUALIFIED",
        description="The person is staff of the location but holds no accepted, unexpired "
        "certification for the job role.",
    )
    TOO_MANY_ROLES = strawberry.enum_value(
        "TOO_MANY_ROLES",
        description="The person would hold more job roles in this application than the "
        "program allows.",
    )
    ROLES_MISSING = strawberry.enum_value(
        "ROLES_MISSING", description="A job role has fewer people allocated than its headcount."
    )
    TERMS_NOT_ACCEPTED = strawberry.enum_value(
        "TERMS_NOT_ACCEPTED", description="The terms and conditions have not been accepted."
    )
    TERMS_DECLINED = strawberry.enum_value(
        "TERMS_DECLINED",
        description="The user answered I Do NOT Accept; the terms must be accepted for the "
        "application to be accepted.",
    )
    DOCUMENT_MISSING = strawberry.enum_value(
        "DOCUMENT_MISSING",
        description="A document that the program requires is missing or was not accepted.",
    )
    INVITATION_INVALID = strawberry.enum_value(
        "INVITATION_INVALID", description="The invitation link is unknown or expired."
    )
    RATE_LIMITED = strawberry.enum_value(
        "RATE_LIMITED", description="Too many attempts; the message says when to try again."
    )
    PROGRAM_UNAVAILABLE = strawberry.enum_value(
        "PROGRAM_UNAVAILABLE", description="No plugin provides the program any more."
    )


@strawberry.enum(name="UserRole")
class UserRole(Enum):
    ADMIN = strawberry.enum_value(
        "ADMIN", description="Program administrator (the Cisco admin of the seed)."
    )
    PARTNER = strawberry.enum_value("PARTNER", description="A person of a partner company.")


@strawberry.enum(name="TextFormat")
class TextFormat(Enum):
    PLAIN = "PLAIN"
    MARKDOWN = "MARKDOWN"


@strawberry.enum(name="ApplicationStatus")
class ApplicationStatus(Enum):
    IN_PROGRESS = strawberry.enum_value(
        "IN_PROGRESS", description="Invited: waiting for the partner to apply."
    )
    NOT_SUBMITTED = strawberry.enum_value(
        "NOT_SUBMITTED",
        description="The partner selected the program and is preparing the application.",
    )
    SUBMITTED = strawberry.enum_value(
        "SUBMITTED", description="Submitted: waiting for the admin's review."
    )
    CHANGES_REQUESTED = strawberry.enum_value(
        "CHANGES_REQUESTED",
        description="Sent back by the admin with a comment; the partner edits and submits again.",
    )
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    WITHDRAWN = strawberry.enum_value(
        "WITHDRAWN", description="Withdrawn by the partner before a decision."
    )
    EXPIRED = strawberry.enum_value(
        "EXPIRED", description="The invitation expired before the partner started."
    )


@strawberry.enum(name="EmailStatus")
class EmailStatus(Enum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    FAILED = "FAILED"


def to_gql(enum_cls: type[Enum], value: Enum | str) -> Enum:
    """The GraphQL enum member with the same name as a domain enum member."""
    return enum_cls[value.value if isinstance(value, Enum) else value]
