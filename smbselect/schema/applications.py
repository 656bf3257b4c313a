"""GraphQL shapes of applications: the Application type and its parts, the queue, and the
partner's steps (start, job allocations, terms, submit, withdraw)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from enum import Enum

import strawberry

from smbselect import ids
from smbselect.context import Context
from smbselect.db import enums as db_enums
from smbselect.db import models
from smbselect.resolvers import applications as app_resolvers
from smbselect.resolvers import evaluations, history, rules
from smbselect.resolvers.pagination import Page
from smbselect.resolvers.programs import ProgramView
from smbselect.schema.base import (
    Info,
    Node,
    PageInfo,
    T,
    UserError,
    global_id,
    ready_or,
    run_mutation,
    selected_names,
)
from smbselect.schema.documents import Document
from smbselect.schema.enums import ApplicationStatus, ErrorCode, UserRole, to_gql
from smbselect.schema.outbox import EmailMessage
from smbselect.schema.programs import DocumentRequirement, JobRole, Program
from smbselect.schema.registry import Location, User, page_info


@strawberry.enum(name="Decision")
class Decision(Enum):
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CHANGES_REQUESTED = strawberry.enum_value(
        "CHANGES_REQUESTED",
        description="Send the application back to the partner (status CHANGES_REQUESTED) with the comment.",
    )


@strawberry.enum(name="ApplicationEventKind")
class ApplicationEventKind(Enum):
    INVITED = "INVITED"
    STARTED = "STARTED"
    JOB_ALLOCATIONS_SAVED = "JOB_ALLOCATIONS_SAVED"
    TERMS_ACCEPTED = "TERMS_ACCEPTED"
    TERMS_DECLINED = "TERMS_DECLINED"
    SUBMITTED = "SUBMITTED"
    DOCUMENT_UPLOADED = "DOCUMENT_UPLOADED"
    DOCUMENT_REVIEWED = "DOCUMENT_REVIEWED"
    DECIDED = "DECIDED"
    REOPENED = "REOPENED"
    WITHDRAWN = "WITHDRAWN"
    EXPIRED = "EXPIRED"


@strawberry.enum(name="ApplicationOrderField")
class ApplicationOrderField(Enum):
    REVIEW_DUE_ON = "REVIEW_DUE_ON"
    SUBMITTED_AT = "SUBMITTED_AT"
    INVITED_AT = "INVITED_AT"
    PARTNER_NAME = "PARTNER_NAME"


@strawberry.enum(name="OrderDirection")
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.type(name="JobAllocation")
class JobAllocation:
    role: JobRole
    user: User


@strawberry.type(name="TermsAcceptance")
class TermsAcceptance:
    version: str
    sha256: str
    user: User = strawberry.field(description="Who accepted (their username is the recorded id).")
    accepted_at: datetime


@strawberry.type(name="SubmitBlocker")
class SubmitBlocker:
    code: ErrorCode
    message: str
    job_role_code: str | None = strawberry.field(
        default=None, description="The job role to fix, where it is about one."
    )
    document_code: str | None = strawberry.field(
        default=None, description="The document requirement to fix, where it is about one."
    )


@strawberry.type(name="Actor", description="Who did something, as the viewer may see them.")
class Actor:
    name: str
    role: UserRole
    user: User | None = strawberry.field(
        description="null where the viewer may not see the user (an admin, seen by a partner)."
    )


@strawberry.type(name="ApplicationEvent")
class ApplicationEvent:
    occurred_at: datetime
    actor: Actor | None = strawberry.field(description="null for the system itself")
    kind: ApplicationEventKind
    from_status: ApplicationStatus | None
    to_status: ApplicationStatus | None
    comment: str | None


def _status(value: db_enums.ApplicationStatus | None) -> ApplicationStatus | None:
    return to_gql(ApplicationStatus, value) if value is not None else None  # type: ignore[return-value]


def _program(ctx: Context, view: ProgramView) -> Program:
    """One Program object per program and request (the request's views are one per
    program): the rows of a page share it."""
    shown: dict[int, Program] = ctx.cache.setdefault("program_objects", {})
    found = shown.get(view.id)
    if found is None:
        found = shown[view.id] = Program.of(view)
    return found


@strawberry.type(name="Application")
class Application(Node):
    row: strawberry.Private[models.Application]
    id: strawberry.ID
    status: ApplicationStatus
    round: int = strawberry.field(
        description="1, and one more each time a closed application is reopened by a new invitation."
    )
    invited_at: datetime
    invitation_expires_at: datetime | None
    submitted_at: datetime | None
    review_due_on: date | None = strawberry.field(
        description="submittedAt plus the program's reviewDays business days; recomputed at each submit."
    )
    decided_at: datetime | None
    last_decision: Decision | None = strawberry.field(
        description="The last decision and its comment (shown to the partner for CHANGES_REQUESTED too)."
    )
    decision_comment: str | None

    @classmethod
    def of(cls, row: models.Application) -> Application:
        return cls(
            row=row,
            id=global_id("Application", row.id),
            status=to_gql(ApplicationStatus, row.status),  # type: ignore[arg-type]
            round=row.round,
            invited_at=row.invited_at,
            invitation_expires_at=row.invitation_expires_at,
            submitted_at=row.submitted_at,
            review_due_on=row.review_due_on,
            decided_at=row.decided_at,
            last_decision=Decision[row.last_decision.value] if row.last_decision else None,
            decision_comment=row.decision_comment,
        )

    # The fields a list page asks for are plain ``def``: they answer at once from what the
    # page's resolver prefetched (evaluations.prefetch) and fall back to loading otherwise.

    @strawberry.field
    def program(self, info: Info) -> Program:
        ctx = info.context
        return ready_or(evaluations.program_view_now(ctx, self.row), lambda view: _program(ctx, view),
                        lambda: evaluations.program_view(ctx, self.row))

    @strawberry.field
    def location(self, info: Info) -> Location:
        ctx = info.context
        return ready_or(evaluations.location_now(ctx, self.row), Location.of,
                        lambda: evaluations.location_of(ctx, self.row))

    def _from_evaluation(self, info: Info, shape: Callable[[rules.Evaluation], T]) -> T:
        ctx = info.context
        return ready_or(evaluations.of_now(ctx, self.row), shape, lambda: evaluations.of(ctx, self.row))

    @strawberry.field(description="The job roles this application must staff.")
    def job_roles(self, info: Info) -> list[JobRole]:
        ctx = info.context  # the roles alone need no whole evaluation
        return ready_or(evaluations.of_now(ctx, self.row), lambda found: [JobRole.of(r) for r in found.job_roles],
                        lambda: evaluations.roles_of(ctx, self.row))

    @strawberry.field
    def job_allocations(self, info: Info) -> list[JobAllocation]:
        ctx = info.context
        return ready_or(
            evaluations.allocations_now(ctx, self.row),
            lambda pairs: [JobAllocation(role=JobRole.of(role), user=User.of(user)) for role, user in pairs],
            lambda: evaluations.allocations(ctx, self.row),
        )

    @strawberry.field(description="Job roles with fewer people allocated than their headcount.")
    def missing_job_roles(self, info: Info) -> list[JobRole]:
        return self._from_evaluation(info, lambda ev: [JobRole.of(r) for r in ev.missing_job_roles])

    @strawberry.field(
        description="The drop-down: staff of the location who hold an accepted, unexpired "
        "certification for the role."
    )
    async def qualified_staff(self, info: Info, job_role_code: str) -> list[User]:
        return [User.of(u) for u in await evaluations.qualified_staff(info.context, self.row, job_role_code)]

    @strawberry.field
    def terms_acceptance(self, info: Info) -> TermsAcceptance | None:
        ctx = info.context
        return ready_or(evaluations.terms_acceptance_now(ctx, self.row), _terms_acceptance,
                        lambda: evaluations.terms_acceptance(ctx, self.row))

    @strawberry.field(description="The documents this application requires.")
    def required_documents(self, info: Info) -> list[DocumentRequirement]:
        return self._from_evaluation(info, lambda ev: [DocumentRequirement.of(d) for d in ev.required_documents])

    @strawberry.field(description="Required documents with no accepted upload yet.")
    def missing_documents(self, info: Info) -> list[DocumentRequirement]:
        return self._from_evaluation(info, lambda ev: [DocumentRequirement.of(d) for d in ev.missing_documents])

    @strawberry.field
    def documents(self, info: Info) -> list[Document]:
        ctx = info.context
        return ready_or(evaluations.all_documents_now(ctx, self.row), lambda rows: [Document.of(r) for r in rows],
                        lambda: evaluations.all_documents(ctx, self.row))

    @strawberry.field(
        description="True when the SUBMIT button may be shown: status NOT_SUBMITTED or "
        "CHANGES_REQUESTED and no blocker."
    )
    def can_submit(self, info: Info) -> bool:
        return self._from_evaluation(info, lambda ev: ev.can_submit)

    @strawberry.field(
        description="Why it may not be submitted: each a message to show instead of the SUBMIT "
        "button. INVALID_STATUS in other statuses."
    )
    def submit_blockers(self, info: Info) -> list[SubmitBlocker]:
        return self._from_evaluation(info, lambda ev: [
            SubmitBlocker(code=ErrorCode[b.code], message=b.message, job_role_code=b.job_role_code,
                          document_code=b.document_code)
            for b in ev.blockers()
        ])

    @strawberry.field(description="The audit trail, oldest first.")
    def events(self, info: Info) -> list[ApplicationEvent]:
        ctx = info.context
        return ready_or(history.events_now(ctx, self.row), _events, lambda: history.events(ctx, self.row))

    @strawberry.field(description="Admin only (empty for partners): the emails of this application and their delivery.")
    def emails(self, info: Info) -> list[EmailMessage]:
        ctx = info.context
        return ready_or(history.emails_now(ctx, self.row), lambda rows: [EmailMessage.of(r) for r in rows],
                        lambda: history.emails(ctx, self.row))


def _events(trail: list[tuple[models.ApplicationEvent, models.User | None]]) -> list[ApplicationEvent]:
    out = []
    for event, visible_user in trail:
        actor = None
        if event.actor_name is not None and event.actor_role is not None:
            actor = Actor(
                name=event.actor_name,
                role=to_gql(UserRole, event.actor_role),  # type: ignore[arg-type]
                user=User.of(visible_user) if visible_user else None,
            )
        out.append(ApplicationEvent(
            occurred_at=event.occurred_at, actor=actor,
            kind=ApplicationEventKind[event.kind.value],
            from_status=_status(event.from_status), to_status=_status(event.to_status),
            comment=event.comment,
        ))
    return out


def _terms_acceptance(found: tuple[models.TermsAcceptance, models.User] | None) -> TermsAcceptance | None:
    if found is None:
        return None
    terms, user = found
    return TermsAcceptance(version=terms.version, sha256=terms.sha256, user=User.of(user),
                           accepted_at=terms.accepted_at)


@strawberry.type(name="ApplicationEdge")
class ApplicationEdge:
    node: Application
    cursor: str


@strawberry.type(name="ApplicationConnection")
class ApplicationConnection:
    page: strawberry.Private[Page]  # type: ignore[type-arg]
    edges: list[ApplicationEdge]
    page_info: PageInfo

    @strawberry.field
    async def total_count(self) -> int:
        return await self.page.total_count()


@strawberry.input(name="ApplicationFilter")
class ApplicationFilter:
    status: list[ApplicationStatus] | None = None
    program_ids: list[strawberry.ID] | None = None
    partner_id: strawberry.ID | None = None
    location_id: strawberry.ID | None = None
    search: str | None = strawberry.field(
        default=None,
        description="Case-insensitive substring of the partner's or the location's name, "
        "Unicode-aware (Türkiye matches TÜRK).",
    )
    overdue: bool | None = strawberry.field(
        default=None, description="Only SUBMITTED applications past their reviewDueOn."
    )


@strawberry.input(
    name="ApplicationOrder", description="Nulls sort last; ties are broken by id, so cursors are stable."
)
class ApplicationOrder:
    field: ApplicationOrderField = ApplicationOrderField.REVIEW_DUE_ON
    direction: OrderDirection = OrderDirection.ASC


# Fields answered from an application's evaluation, and those that also show people.
# (jobRoles and qualifiedStaff need only the roles: they batch those on their own.)
EVALUATED_FIELDS = frozenset({
    "jobAllocations", "missingJobRoles", "termsAcceptance", "requiredDocuments",
    "missingDocuments", "canSubmit", "submitBlockers",
})
PEOPLE_FIELDS = frozenset({"jobAllocations", "termsAcceptance"})


async def prefetch_for(info: Info, rows: list[models.Application]) -> None:
    """Evaluate a list's applications up front when the query asks for evaluated fields, so
    those fields answer without a task each (see ``ready_or``); nothing when it does not."""
    names = selected_names(info)
    if names & EVALUATED_FIELDS:
        await evaluations.prefetch(info.context, rows, people=bool(names & PEOPLE_FIELDS), events="events" in names,
                                   emails="emails" in names, certifications="certifications" in names)


def page_of(page: Page) -> ApplicationConnection:  # type: ignore[type-arg]
    edges = [ApplicationEdge(node=Application.of(r), cursor=c) for r, c in zip(page.items, page.cursors)]
    return ApplicationConnection(page=page, edges=edges, page_info=page_info(page))


# --- the partner's steps ----------------------------------------------------------------


@strawberry.input(name="ApplicationStartInput")
class ApplicationStartInput:
    application_id: strawberry.ID


@strawberry.type(name="ApplicationStartPayload")
class ApplicationStartPayload:
    application: Application | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="JobAllocationInput")
class JobAllocationInput:
    job_role_code: str
    user_id: strawberry.ID


@strawberry.input(name="JobAllocationsSaveInput")
class JobAllocationsSaveInput:
    application_id: strawberry.ID
    allocations: list[JobAllocationInput] = strawberry.field(
        description="The whole set: it replaces what was saved before."
    )


@strawberry.type(name="JobAllocationsSavePayload")
class JobAllocationsSavePayload:
    application: Application | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="TermsAcceptInput")
class TermsAcceptInput:
    application_id: strawberry.ID
    version: str = strawberry.field(description="The Terms.version that was shown.")


@strawberry.type(name="TermsAcceptPayload")
class TermsAcceptPayload:
    application: Application | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="TermsDeclineInput")
class TermsDeclineInput:
    application_id: strawberry.ID


@strawberry.type(name="TermsDeclinePayload")
class TermsDeclinePayload:
    application: Application | None = None
    message: str | None = strawberry.field(
        default=None,
        description="The message to show: the terms must be accepted for the application to be accepted.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="ApplicationSubmitInput")
class ApplicationSubmitInput:
    application_id: strawberry.ID


@strawberry.type(name="ApplicationSubmitPayload")
class ApplicationSubmitPayload:
    application: Application | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="ApplicationWithdrawInput")
class ApplicationWithdrawInput:
    application_id: strawberry.ID
    reason: str | None = None


@strawberry.type(name="ApplicationWithdrawPayload")
class ApplicationWithdrawPayload:
    application: Application | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def app_id(value: str) -> int | None:
    return ids.decode(value, "Application")


@strawberry.type
class ApplicationQuery:
    @strawberry.field(description="null when it does not exist or the viewer may not see it.")
    async def application(self, info: Info, id: strawberry.ID) -> Application | None:
        row = await app_resolvers.get_application(info.context, app_id(id))
        if row is None:
            return None
        await prefetch_for(info, [row])
        return Application.of(row)

    @strawberry.field(
        description="Admin: all applications (the approval queue); partner: those of the "
        "locations they act for."
    )
    async def applications(
        self, info: Info, filter: ApplicationFilter | None = None,
        order_by: ApplicationOrder | None = None, first: int | None = 20, after: str | None = None,
    ) -> ApplicationConnection:
        flt = filter or ApplicationFilter()
        partner_given = flt.partner_id is not None
        location_given = flt.location_id is not None
        query_filter = app_resolvers.QueueFilter(
            statuses=[db_enums.ApplicationStatus(s.value) for s in flt.status] if flt.status else None,
            program_ids=[ids.decode(p, "Program") for p in flt.program_ids] if flt.program_ids is not None else None,
            partner_id=ids.decode(flt.partner_id, "Partner") if partner_given else None,  # type: ignore[arg-type]
            partner_id_given=partner_given,
            location_id=ids.decode(flt.location_id, "Location") if location_given else None,  # type: ignore[arg-type]
            location_id_given=location_given,
            search=flt.search,
            overdue=flt.overdue,
        )
        order = order_by or ApplicationOrder()
        page = await app_resolvers.queue(
            info.context, query_filter, order.field.value, order.direction == OrderDirection.DESC,
            first, after,
        )
        await prefetch_for(info, page.items)
        return page_of(page)


@strawberry.type
class ApplicationMutation:
    @strawberry.mutation(
        description="Partner: SELECT an IN_PROGRESS program for a location (NOT_SUBMITTED); again "
        "on NOT_SUBMITTED returns it unchanged."
    )
    async def application_start(self, info: Info, input: ApplicationStartInput) -> ApplicationStartPayload:
        return await run_mutation(
            lambda: app_resolvers.start(info.context, app_id(input.application_id)),
            lambda row: ApplicationStartPayload(application=Application.of(row)),
            lambda errors: ApplicationStartPayload(user_errors=errors),
        )

    @strawberry.mutation(description="Partner: SAVE the job-role allocations.")
    async def job_allocations_save(self, info: Info, input: JobAllocationsSaveInput) -> JobAllocationsSavePayload:
        items = [
            app_resolvers.AllocationInput(a.job_role_code, ids.decode(a.user_id, "User"))
            for a in input.allocations
        ]
        return await run_mutation(
            lambda: app_resolvers.save_allocations(info.context, app_id(input.application_id), items),
            lambda row: JobAllocationsSavePayload(application=Application.of(row)),
            lambda errors: JobAllocationsSavePayload(user_errors=errors),
        )

    @strawberry.mutation(description="Partner: I Accept; records the user, the time, the version and its hash.")
    async def terms_accept(self, info: Info, input: TermsAcceptInput) -> TermsAcceptPayload:
        return await run_mutation(
            lambda: app_resolvers.accept_terms(info.context, app_id(input.application_id), input.version),
            lambda row: TermsAcceptPayload(application=Application.of(row)),
            lambda errors: TermsAcceptPayload(user_errors=errors),
        )

    @strawberry.mutation(
        description="Partner: I Do NOT Accept; records the event, withdraws an earlier acceptance, "
        "and returns the message to show."
    )
    async def terms_decline(self, info: Info, input: TermsDeclineInput) -> TermsDeclinePayload:
        return await run_mutation(
            lambda: app_resolvers.decline_terms(info.context, app_id(input.application_id)),
            lambda pair: TermsDeclinePayload(application=Application.of(pair[0]), message=pair[1]),
            lambda errors: TermsDeclinePayload(user_errors=errors),
        )

    @strawberry.mutation(description="Partner: SUBMIT; emails the partner and the admins.")
    async def application_submit(self, info: Info, input: ApplicationSubmitInput) -> ApplicationSubmitPayload:
        return await run_mutation(
            lambda: app_resolvers.submit(info.context, app_id(input.application_id)),
            lambda row: ApplicationSubmitPayload(application=Application.of(row)),
            lambda errors: ApplicationSubmitPayload(user_errors=errors),
        )

    @strawberry.mutation(description="Partner: withdraw before a decision.")
    async def application_withdraw(
        self, info: Info, input: ApplicationWithdrawInput
    ) -> ApplicationWithdrawPayload:
        return await run_mutation(
            lambda: app_resolvers.withdraw(info.context, app_id(input.application_id), input.reason),
            lambda row: ApplicationWithdrawPayload(application=Application.of(row)),
            lambda errors: ApplicationWithdrawPayload(user_errors=errors),
        )
