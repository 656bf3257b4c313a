"""GraphQL shapes of the outbox: EmailMessage, the ``emails`` query and ``emailRetry``."""

from __future__ import annotations

from datetime import datetime

import strawberry

from smbselect import ids
from smbselect.db import enums, models
from smbselect.resolvers import outbox
from smbselect.schema.base import Info, Node, PageInfo, UserError, run_mutation
from smbselect.schema.enums import EmailStatus, to_gql
from smbselect.schema.registry import page_info
from smbselect.resolvers.pagination import Page


@strawberry.type(name="EmailMessage")
class EmailMessage(Node):
    id: strawberry.ID
    to: list[str]
    subject: str
    status: EmailStatus
    attempts: int
    last_error: str | None
    queued_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, row: models.EmailMessage) -> EmailMessage:
        return cls(
            id=strawberry.ID(ids.encode("EmailMessage", row.id)),
            to=list(row.to) + list(row.cc or []),
            subject=row.subject,
            status=to_gql(EmailStatus, row.status),  # type: ignore[arg-type]
            attempts=row.attempts,
            last_error=row.last_error,
            queued_at=row.queued_at,
            sent_at=row.sent_at,
        )


@strawberry.type(name="EmailMessageEdge")
class EmailMessageEdge:
    node: EmailMessage
    cursor: str


@strawberry.type(name="EmailMessageConnection")
class EmailMessageConnection:
    page: strawberry.Private[Page]  # type: ignore[type-arg]
    edges: list[EmailMessageEdge]
    page_info: PageInfo

    @strawberry.field
    async def total_count(self) -> int:
        return await self.page.total_count()


@strawberry.input(name="EmailRetryInput")
class EmailRetryInput:
    email_id: strawberry.ID


@strawberry.type(name="EmailRetryPayload")
class EmailRetryPayload:
    email: EmailMessage | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class OutboxQuery:
    @strawberry.field(description="Admin: the outbox.")
    async def emails(
        self, info: Info, status: EmailStatus | None = None, first: int | None = 50,
        after: str | None = None,
    ) -> EmailMessageConnection:
        wanted = enums.EmailStatus(status.value) if status is not None else None
        page = await outbox.list_emails(info.context, wanted, first, after)
        edges = [EmailMessageEdge(node=EmailMessage.of(r), cursor=c) for r, c in zip(page.items, page.cursors)]
        return EmailMessageConnection(page=page, edges=edges, page_info=page_info(page))


@strawberry.type
class OutboxMutation:
    @strawberry.mutation(description="Admin: send a FAILED email again.")
    async def email_retry(self, info: Info, input: EmailRetryInput) -> EmailRetryPayload:
        return await run_mutation(
            lambda: outbox.email_retry(info.context, ids.decode(input.email_id, "EmailMessage")),
            lambda row: EmailRetryPayload(email=EmailMessage.of(row)),
            lambda errors: EmailRetryPayload(user_errors=errors),
        )
