"""Review: the admin's decision on a submitted application and the email that announces it.

The decision email is built by one function (:func:`decision_draft`) for both the preview
(``decisionEmailPreview``) and the decision itself (``applicationDecide``), and the same
checks (:func:`_refusals`) decide whether anything is sent at all, so what the admin
previews is what the partner receives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tortoise.transactions import in_transaction

from smbselect.context import Context
from smbselect.db.enums import ApplicationEventKind, Decision
from smbselect.db.models import Application, Location, TermsAcceptance, User
from smbselect.errors import DomainError, ErrorCode, Problem, not_found
from smbselect.mail.outbox import clean_envelope
from smbselect.plugins.definitions import ProgramDef
from smbselect.resolvers import access, events, notify, rules
from smbselect.resolvers.applications import advance, get_application, reload
from smbselect.resolvers.status import Step, allowed, target
from smbselect.resolvers.text import clean_comment, comment_problems

STEPS = {
    Decision.APPROVED: Step.APPROVE,
    Decision.REJECTED: Step.REJECT,
    Decision.CHANGES_REQUESTED: Step.REQUEST_CHANGES,
}
APPLICATION_FIELD = ("input", "applicationId")
COMMENT_FIELD = ("input", "comment")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class PreviewEmail:
    """One email as the outbox would hold it: recipients (to, then cc), subject, text."""

    to: list[str]
    subject: str
    body: str


# --- the checks -------------------------------------------------------------------------


async def _refusals(
    ctx: Context, app: Application, decision: Decision, comment: str | None
) -> list[Problem]:
    """Why this decision may not be taken now (empty: it may)."""
    if not allowed(STEPS[decision], app.status):
        return [Problem(
            ErrorCode.INVALID_STATUS,
            f"Only a SUBMITTED application can be decided; this one is "
            f"{app.status.value.replace('_', ' ')}.",
            APPLICATION_FIELD,
        )]
    problems: list[Problem] = comment_problems(comment, COMMENT_FIELD)
    if decision in (Decision.REJECTED, Decision.CHANGES_REQUESTED) and comment is None:
        what = "why it is rejected" if decision == Decision.REJECTED else "what to change"
        problems.append(Problem(
            ErrorCode.REQUIRED, f"Write a comment for the partner saying {what}.", COMMENT_FIELD,
        ))
    if decision == Decision.APPROVED:
        problems.extend(await _approval_problems(ctx, app))
    return problems


async def _approval_problems(ctx: Context, app: Application) -> list[Problem]:
    """An approval needs every role staffed by people who still qualify and every
    required document accepted."""
    evaluation = (await rules.evaluate(ctx, [app]))[app.id]
    problems: list[Problem] = []
    for role in evaluation.missing_job_roles:
        problems.append(Problem(
            ErrorCode.ROLES_MISSING,
            f"Nobody (or too few people) is allocated to the job role {role.name}.",
            APPLICATION_FIELD,
        ))
    if evaluation.unqualified:
        roles = {r.code: r.name for r in evaluation.job_roles}
        names = dict(await User.filter(
            id__in=[uid for _, uid in evaluation.unqualified]
        ).values_list("id", "name"))
        for (role_code, uid), reason in evaluation.unqualified.items():
            problems.append(Problem(
                ErrorCode.NOT_QUALIFIED,
                f"{names.get(uid, 'The person')} allocated to {roles.get(role_code, role_code)} "
                f"no longer qualifies: {reason}",
                APPLICATION_FIELD,
            ))
    for requirement in evaluation.missing_documents:
        problems.append(Problem(
            ErrorCode.DOCUMENT_MISSING,
            f"The required document '{requirement.name}' has not been accepted yet.",
            APPLICATION_FIELD,
        ))
    return problems


# --- the email --------------------------------------------------------------------------


async def decision_draft(
    ctx: Context, app: Application, decision: Decision, comment: str | None, conn: Any = None
) -> tuple[ProgramDef, notify.Draft]:
    """THE decision email, for the preview and the decision alike."""
    programs = await rules.programs_by_id(ctx, [app.program_id])
    _, program = programs[app.program_id]
    location = await Location.get(id=app.location_id).using_db(conn)
    people = await notify.partner_people(app)
    where = notify.where(program, location)
    support = notify.support_of(ctx, program)
    url = notify.application_url(ctx, app.id)
    if decision == Decision.APPROVED:
        subject = f"{program.name}: the application for {location.name} is approved"
        title = f"Welcome to {program.name}: your application to {where} is approved"
        paragraphs = [
            f"Congratulations. Your application to {program.name} for {location.name} "
            f"({location.country}) was approved.",
        ]
        if comment:
            paragraphs.append(f"Comment from the reviewer: {comment}")
        paragraphs += [
            f"Welcome to {program.name}: {location.name} is now a participating partner location. "
            "Keep the certifications of the people named in the application valid, and tell us "
            "when one of them leaves or a certification expires.",
            f"Questions about the program? Write to {support}.",
        ]
        label = "View the application"
    elif decision == Decision.REJECTED:
        subject = f"{program.name}: the application for {location.name} was not approved"
        title = f"Your application to {where} was not approved"
        paragraphs = [
            f"We are sorry: your application to {program.name} for {location.name} "
            f"({location.country}) was not approved.",
            f"The reason: {comment}",
            f"If you have questions about this decision, write to {support}.",
            "The application is closed now. A new invitation to the program may follow later; "
            "it would open the application again.",
        ]
        label = "View the application"
    else:
        subject = f"{program.name}: changes requested for the application of {location.name}"
        title = f"Changes requested: your application to {where}"
        paragraphs = [
            f"The reviewer looked at your application to {program.name} for {location.name} "
            f"({location.country}) and asks for changes before deciding.",
            f"What to change: {comment}",
            "What to do next: open the application, make the changes (the job-role allocations "
            "you saved are kept), read and accept the terms and conditions again, and submit "
            "the application again.",
            f"Questions? Write to {support}.",
        ]
        label = "Edit the application"
    return program, notify.Draft(
        event=f"application_{decision.value.lower()}",
        to=notify.emails_of(people),
        subject=subject,
        title=title,
        paragraphs=paragraphs,
        action_url=url,
        action_label=label,
    )


def _as_queued(email: dict[str, Any]) -> PreviewEmail | None:
    """What the outbox would store for a rendered email (the same cleaning as queue_email)."""
    to, cc, subject = clean_envelope(email.get("to") or [], email.get("cc") or [], email["subject"])
    if not to:
        return None
    return PreviewEmail(to=to + cc, subject=subject, body=email["text"])


# --- the two entry points ---------------------------------------------------------------


async def preview(
    ctx: Context, application_id: int | None, decision: Decision, comment: str | None
) -> list[PreviewEmail]:
    """The emails ``decide`` would send now; empty when it would send none (unknown
    application, not SUBMITTED, or a decision it would refuse)."""
    access.require_admin(ctx)
    app = await get_application(ctx, application_id)
    text = clean_comment(comment)
    if app is None or await _refusals(ctx, app, decision, text):
        return []
    program, draft = await decision_draft(ctx, app, decision, text)
    if not draft.to:
        return []
    email = notify.render(ctx, program, draft)
    if email is None:
        return []
    found = _as_queued(email)
    return [found] if found else []


async def decide(
    ctx: Context, application_id: int | None, decision: Decision, comment: str | None
) -> Application:
    """APPROVED, REJECTED or CHANGES_REQUESTED a SUBMITTED application, and email the partner.

    The status change, the withdrawal of the terms (changes requested), the event and the
    email are one transaction behind the version check: of racing decisions exactly one
    is taken and one email is queued; the others get INVALID_STATUS.
    """
    admin = access.require_admin(ctx)
    app = await get_application(ctx, application_id)
    if app is None:
        raise not_found(APPLICATION_FIELD)
    text = clean_comment(comment)
    problems = await _refusals(ctx, app, decision, text)
    if problems:
        raise DomainError(problems)
    now = utcnow()
    async with in_transaction() as conn:
        before = app.status
        after = target(STEPS[decision], before)
        await advance(app, conn, status=after, decided_at=now, last_decision=decision,
                       decision_comment=text)
        if decision == Decision.CHANGES_REQUESTED:
            # The partner accepts the terms again before resubmitting; declining is theirs
            # to do, so terms_declined stays as it was (False after a submit).
            await TermsAcceptance.filter(application_id=app.id, withdrawn_at=None).using_db(
                conn
            ).update(withdrawn_at=now)
        await events.record(conn, app, ApplicationEventKind.DECIDED, admin, at=now,
                            comment=text, from_status=before, to_status=after,
                            data={"decision": decision.value})
        program, draft = await decision_draft(ctx, app, decision, text, conn)
        await notify.send(ctx, program, draft, application_id=app.id, conn=conn)
    return await reload(app)

