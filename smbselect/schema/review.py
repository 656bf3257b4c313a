"""GraphQL shapes of the review: ``applicationDecide`` and its email preview."""

from __future__ import annotations

import strawberry

from smbselect.db import enums as db_enums
from smbselect.resolvers import review
from smbselect.schema.applications import Application, Decision, app_id
from smbselect.schema.base import Info, UserError, run_mutation


@strawberry.type(name="EmailPreview")
class EmailPreview:
    to: list[str]
    subject: str
    body: str

    @classmethod
    def of(cls, email: review.PreviewEmail) -> EmailPreview:
        return cls(to=list(email.to), subject=email.subject, body=email.body)


@strawberry.input(name="ApplicationDecideInput")
class ApplicationDecideInput:
    application_id: strawberry.ID
    decision: Decision
    comment: str | None = strawberry.field(
        default=None, description="Required for REJECTED and CHANGES_REQUESTED."
    )


@strawberry.type(name="ApplicationDecidePayload")
class ApplicationDecidePayload:
    application: Application | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _decision(value: Decision) -> db_enums.Decision:
    return db_enums.Decision(value.value)


@strawberry.type
class ReviewQuery:
    @strawberry.field(
        description="Admin: the emails that applicationDecide would send (one per distinct "
        "message), to show before Confirm and Send Email; empty when the application does not "
        "exist or is not SUBMITTED."
    )
    async def decision_email_preview(
        self, info: Info, application_id: strawberry.ID, decision: Decision,
        comment: str | None = None,
    ) -> list[EmailPreview]:
        found = await review.preview(
            info.context, app_id(application_id), _decision(decision), comment
        )
        return [EmailPreview.of(e) for e in found]


@strawberry.type
class ReviewMutation:
    @strawberry.mutation(
        description="Admin: set the decision and send the decision email (Confirm and Send Email)."
    )
    async def application_decide(
        self, info: Info, input: ApplicationDecideInput
    ) -> ApplicationDecidePayload:
        return await run_mutation(
            lambda: review.decide(
                info.context, app_id(input.application_id), _decision(input.decision), input.comment
            ),
            lambda row: ApplicationDecidePayload(application=Application.of(row)),
            lambda errors: ApplicationDecidePayload(user_errors=errors),
        )
