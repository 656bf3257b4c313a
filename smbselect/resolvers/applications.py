"""Applications: what an actor may see of them, the approval queue, and the partner's steps
(start, job allocations, terms, submit, withdraw).

Every change runs in one transaction that re-reads the application, checks the status
machine and bumps ``version`` with a conditional update, so of two racing requests exactly
one wins; the audit event and the emails are written in the same transaction.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from smbselect.context import Context
from smbselect.db import search
from smbselect.db.enums import ApplicationEventKind, ApplicationStatus
from smbselect.db.models import (
    Application,
    Document,
    JobAllocation,
    Location,
    LocationStaff,
    TermsAcceptance,
    fold,
)
from smbselect.db.rows import get_with_related, select_related_rows
from smbselect.errors import DomainError, ErrorCode, Problem, not_found
from smbselect.resolvers import access, events, notify, rules
from smbselect.resolvers.pagination import Page, nullable_keyset_page
from smbselect.resolvers.status import Step, allowed, target
from smbselect.resolvers.text import checked_comment

TERMS_DECLINED_MESSAGE = (
    "The terms and conditions must be accepted for the application to be accepted. "
    "You can read them again and choose I Accept at any time before you submit."
)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def add_business_days(start: date, days: int) -> date:
    """``days`` business days (Monday to Friday) after ``start``."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


# --- what may be seen -------------------------------------------------------------------


async def visible_applications(ctx: Context) -> QuerySet[Application]:
    """Admins: all; a partner user: those of the locations they act for."""
    access.require_user(ctx)
    locations = await access.visible_location_ids(ctx)
    return Application.all() if locations is None else Application.filter(location_id__in=locations)


async def get_application(ctx: Context, application_id: int | None) -> Application | None:
    """The application if the viewer may see it, read with its program, location and
    partner in the same statement (remembered for the request: its fields need them)."""
    if application_id is None:
        return None
    access.require_user(ctx)
    locations = await access.visible_location_ids(ctx)
    within = None if locations is None else ("location_id", locations)
    app = await get_with_related(Application, application_id, ("program", "location__partner"), within=within)
    if app is not None:
        rules.prime(ctx, [app])
    return app


async def location_applications(ctx: Context, location_id: int) -> list[Application]:
    """The In-Progress table of a (visible) location: its applications, by program, read
    with their program in the same statement (remembered for the request: the table shows
    it), as the queue reads its page."""
    apps = await select_related_rows(
        Application.filter(location_id=location_id).select_related("program").order_by("program_id", "id")
    )
    rules.prime(ctx, apps)
    return apps


@dataclass(frozen=True)
class QueueFilter:
    statuses: list[ApplicationStatus] | None = None
    program_ids: list[int | None] | None = None
    partner_id: int | None = None
    partner_id_given: bool = False
    location_id: int | None = None
    location_id_given: bool = False
    search: str | None = None
    overdue: bool | None = None


ORDER_KEYS = {
    "REVIEW_DUE_ON": "review_due_on",
    "SUBMITTED_AT": "submitted_at",
    "INVITED_AT": "invited_at",
    "PARTNER_NAME": "partner__name_fold",
}


def _dump(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _loader(key: str) -> Any:
    if key == "review_due_on":
        return date.fromisoformat
    if key in ("submitted_at", "invited_at"):
        return datetime.fromisoformat
    return str


async def queue(
    ctx: Context, flt: QueueFilter, order_field: str, descending: bool,
    first: int | None, after: str | None,
) -> Page[Application]:
    """The approval queue (admins) or a partner user's own applications, filtered and paged.

    The search takes the ids of matching partners and locations from trigram indexes
    (:mod:`smbselect.db.search`): comparing the joined names row by row scanned (issue 6).
    """
    query = await visible_applications(ctx)
    if flt.statuses:
        query = query.filter(status__in=list(flt.statuses))
    if flt.program_ids is not None:
        query = query.filter(program_id__in=[i for i in flt.program_ids if i is not None])
    if flt.partner_id_given:
        query = query.filter(partner_id=flt.partner_id if flt.partner_id is not None else -1)
    if flt.location_id_given:
        query = query.filter(location_id=flt.location_id if flt.location_id is not None else -1)
    if flt.search and flt.search.strip():
        needle = fold(flt.search.strip())
        if "\x00" in needle:  # in no name, and PostgreSQL refuses it in a text parameter
            query = query.filter(id=-1)
        else:
            query = query.filter(await search.applications_matching(needle, search.dialect()))
    if flt.overdue is True:
        query = query.filter(status=ApplicationStatus.SUBMITTED, review_due_on__lt=rules.today())
    elif flt.overdue is False:
        query = query.filter(~Q(status=ApplicationStatus.SUBMITTED, review_due_on__lt=rules.today()))
    key = ORDER_KEYS[order_field]
    page = await nullable_keyset_page(
        query, key, first, after, default_first=20, descending=descending, dump=_dump,
        load=_loader(key), related=("program", "location__partner"),
    )
    rules.prime(ctx, page.items)
    return page


# --- helpers for the steps --------------------------------------------------------------


async def _load_for_step(ctx: Context, application_id: int | None, step: Step) -> Application:
    """The application for a partner step, in scope, in a status that allows the step."""
    access.require_partner(ctx)
    app = await get_application(ctx, application_id)
    if app is None:
        raise not_found(["input", "applicationId"])
    if not allowed(step, app.status):
        raise DomainError.one(
            ErrorCode.INVALID_STATUS,
            f"This step is not possible while the application is {app.status.value.replace('_', ' ')}.",
            ["input", "applicationId"],
        )
    programs = await rules.programs_by_id(ctx, [app.program_id])
    row, _ = programs[app.program_id]
    if not row.active and step not in (Step.WITHDRAW,):
        raise DomainError.one(
            ErrorCode.PROGRAM_UNAVAILABLE,
            "This program is no longer offered; the application can only be withdrawn.",
            ["input", "applicationId"],
        )
    return app


async def try_advance(app: Application, conn: Any, **changes: Any) -> bool:
    """Write ``changes`` (and bump ``version``) only if nobody changed the application since
    it was read; True when this request won. The guard of every transition."""
    updated = await Application.filter(id=app.id, version=app.version).using_db(conn).update(
        version=F("version") + 1, **changes
    )
    if updated != 1:
        return False
    app.version += 1
    for name, value in changes.items():
        setattr(app, name, value)
    return True


async def advance(app: Application, conn: Any, **changes: Any) -> None:
    """:func:`try_advance`, answering a lost race as INVALID_STATUS (nothing written)."""
    if not await try_advance(app, conn, **changes):
        raise DomainError.one(
            ErrorCode.INVALID_STATUS,
            "The application was changed by someone else just now; reload it and try again.",
            ["input", "applicationId"],
        )


async def reload(app: Application) -> Application:
    return await Application.get(id=app.id)


# --- the partner's steps ----------------------------------------------------------------


async def start(ctx: Context, application_id: int | None) -> Application:
    """SELECT: IN_PROGRESS → NOT_SUBMITTED; a NOT_SUBMITTED one comes back unchanged.
    An invitation that ran out expires the application first (EXPIRED cannot be started)."""
    from smbselect.resolvers.invitations import expire_due

    access.require_partner(ctx)
    if await get_application(ctx, application_id) is not None:
        await expire_due(application_ids=[application_id])  # type: ignore[list-item]
    app = await _load_for_step(ctx, application_id, Step.START)
    if app.status == ApplicationStatus.NOT_SUBMITTED:
        return app
    async with in_transaction() as conn:
        before = app.status
        await advance(app, conn, status=target(Step.START, before))
        await events.record(conn, app, ApplicationEventKind.STARTED, ctx.user,
                            from_status=before, to_status=app.status)
    return await reload(app)


@dataclass(frozen=True)
class AllocationInput:
    job_role_code: str
    user_id: int | None


async def save_allocations(
    ctx: Context, application_id: int | None, allocations: list[AllocationInput]
) -> Application:
    """SAVE: replace the allocations with this set (partial is fine), or change nothing."""
    app = await _load_for_step(ctx, application_id, Step.SAVE_ALLOCATIONS)
    evaluation = (await rules.evaluate(ctx, [app]))[app.id]
    roles = {r.code: r for r in evaluation.job_roles}
    problems: list[Problem] = []

    def problem(code: ErrorCode, message: str, index: int, field: str) -> None:
        problems.append(Problem(code, message, ("input", "allocations", str(index), field)))

    staff_ids = set(
        await LocationStaff.filter(location_id=app.location_id).values_list("user_id", flat=True)
    )
    wanted_ids = {a.user_id for a in allocations if a.user_id is not None and a.user_id in staff_ids}
    people = await rules.candidates(ctx, wanted_ids, staff_location=app.location_id)
    seen: set[tuple[str, int]] = set()
    per_role: Counter[str] = Counter()
    per_person: Counter[int] = Counter()
    qualifications: dict[tuple[str, int], Any] = {}
    for role_code in {a.job_role_code for a in allocations if a.job_role_code in roles}:
        group = [people[a.user_id] for a in allocations
                 if a.job_role_code == role_code and a.user_id in people]
        unique = list({c.user_id: c for c in group}.values())
        if unique:
            for uid, q in ctx.plugins.qualify(evaluation.program, roles[role_code], unique, rules.today()).items():
                qualifications[(role_code, uid)] = q
    for index, item in enumerate(allocations):
        role = roles.get(item.job_role_code)
        if role is None:
            problem(ErrorCode.INVALID, f"'{item.job_role_code}' is not a job role of this application.",
                    index, "jobRoleCode")
            continue
        if item.user_id is None or item.user_id not in staff_ids:
            problem(ErrorCode.NOT_FOUND, "This person is not staff of the location.", index, "userId")
            continue
        if (role.code, item.user_id) in seen:
            problem(ErrorCode.INVALID, f"This person is already allocated to {role.name}.", index, "userId")
            continue
        seen.add((role.code, item.user_id))
        q = qualifications.get((role.code, item.user_id))
        if q is None or not q.qualified:
            reason = q.reason if q is not None and q.reason else "No accepted, unexpired certification."
            problem(ErrorCode.NOT_QUALIFIED,
                    f"{people[item.user_id].name} does not qualify for {role.name}: {reason}",
                    index, "userId")
            continue
        per_role[role.code] += 1
        per_person[item.user_id] += 1
        if per_role[role.code] > role.headcount:
            problem(ErrorCode.INVALID,
                    f"{role.name} needs {role.headcount} {'person' if role.headcount == 1 else 'people'}; "
                    "this is one too many.", index, "userId")
        if per_person[item.user_id] > evaluation.program.max_roles_per_person:
            problem(ErrorCode.TOO_MANY_ROLES,
                    f"{people[item.user_id].name} would hold more than "
                    f"{evaluation.program.max_roles_per_person} job roles in this application.",
                    index, "userId")
    if problems:
        raise DomainError(problems)
    async with in_transaction() as conn:
        await advance(app, conn)
        await JobAllocation.filter(application_id=app.id).using_db(conn).delete()
        if allocations:
            await JobAllocation.bulk_create(
                [JobAllocation(application_id=app.id, role_code=a.job_role_code, user_id=a.user_id)
                 for a in allocations],
                using_db=conn,
            )
        await events.record(
            conn, app, ApplicationEventKind.JOB_ALLOCATIONS_SAVED, ctx.user,
            data={"allocations": [[a.job_role_code, a.user_id] for a in allocations]},
        )
    return await reload(app)


async def accept_terms(ctx: Context, application_id: int | None, version: str) -> Application:
    """I Accept: records the user, the time, the version and the SHA-256 of the text."""
    app = await _load_for_step(ctx, application_id, Step.ACCEPT_TERMS)
    evaluation = (await rules.evaluate(ctx, [app]))[app.id]
    terms = evaluation.program.terms
    if version != terms.version:
        raise DomainError.one(
            ErrorCode.INVALID,
            f"The terms shown were version '{version}'; the current version is '{terms.version}'. "
            "Read the current terms and accept them.",
            ["input", "version"],
        )
    user = access.require_user(ctx)
    now = utcnow()
    async with in_transaction() as conn:
        await advance(app, conn, terms_declined=False)
        await TermsAcceptance.filter(application_id=app.id, withdrawn_at=None).using_db(conn).update(
            withdrawn_at=now
        )
        await TermsAcceptance.create(
            application_id=app.id, user_id=user.id, username=user.username,
            version=terms.version, sha256=terms.sha256, accepted_at=now, using_db=conn,
        )
        await events.record(conn, app, ApplicationEventKind.TERMS_ACCEPTED, user, at=now,
                            data={"version": terms.version, "sha256": terms.sha256})
    return await reload(app)


async def decline_terms(ctx: Context, application_id: int | None) -> tuple[Application, str]:
    """I Do NOT Accept: withdraws an earlier acceptance and says why the process stops here."""
    app = await _load_for_step(ctx, application_id, Step.DECLINE_TERMS)
    now = utcnow()
    async with in_transaction() as conn:
        await advance(app, conn, terms_declined=True)
        await TermsAcceptance.filter(application_id=app.id, withdrawn_at=None).using_db(conn).update(
            withdrawn_at=now
        )
        await events.record(conn, app, ApplicationEventKind.TERMS_DECLINED, ctx.user, at=now)
    return await reload(app), TERMS_DECLINED_MESSAGE


async def submit(ctx: Context, application_id: int | None) -> Application:
    """SUBMIT: only with nothing blocking; emails the partner and the admins once."""
    app = await _load_for_step(ctx, application_id, Step.SUBMIT)
    evaluation = (await rules.evaluate(ctx, [app]))[app.id]
    blockers = evaluation.blockers()
    if blockers:
        raise DomainError([
            Problem(ErrorCode(b.code), b.message, ("input", "applicationId")) for b in blockers
        ])
    now = utcnow()
    program = evaluation.program
    due = add_business_days(now.date(), program.review_days)
    async with in_transaction() as conn:
        before = app.status
        await advance(app, conn, status=ApplicationStatus.SUBMITTED, submitted_at=now,
                       review_due_on=due, terms_declined=False)
        await events.record(conn, app, ApplicationEventKind.SUBMITTED, ctx.user, at=now,
                            from_status=before, to_status=ApplicationStatus.SUBMITTED)
        await _submission_emails(ctx, app, program, due, conn)
    return await reload(app)


async def _submission_emails(ctx: Context, app: Application, program: Any, due: date, conn: Any) -> None:
    location = await Location.get(id=app.location_id).using_db(conn)
    people = await notify.partner_people(app)
    where = notify.where(program, location)
    url = notify.application_url(ctx, app.id)
    await notify.send(ctx, program, notify.Draft(
        event="application_submitted",
        to=notify.emails_of(people),
        subject=f"{program.name}: application for {location.name} submitted",
        title=f"Your application to {where} was submitted",
        paragraphs=[
            f"Thank you. Your application to {program.name} for {location.name} was submitted "
            f"by {ctx.user.name if ctx.user else 'your team'}.",
            f"The review takes about {program.review_days} business days; you can expect a decision "
            f"by {due.isoformat()}. You will receive an email with the decision.",
            "If the program requires documents, upload them from the application page.",
        ],
        action_url=url, action_label="View the application",
    ), application_id=app.id, conn=conn)
    admins = await notify.admin_addresses(ctx, app)
    await notify.send(ctx, program, notify.Draft(
        event="application_submitted_admin",
        to=admins,
        subject=f"{program.name}: {location.name} submitted an application for review",
        title=f"New application to review: {where}",
        paragraphs=[
            f"{location.name} ({location.country}) submitted its application to {program.name}.",
            f"Please review it by {due.isoformat()}: check the job roles, the terms acceptance and "
            "any documents, then approve, reject or request changes.",
        ],
        action_url=url, action_label="Review the application",
    ), application_id=app.id, conn=conn)


async def withdraw(ctx: Context, application_id: int | None, reason: str | None) -> Application:
    """Withdraw before a decision; the admins are told."""
    app = await _load_for_step(ctx, application_id, Step.WITHDRAW)
    comment = checked_comment(reason, ["input", "reason"], "reason")
    programs = await rules.programs_by_id(ctx, [app.program_id])
    _, program = programs[app.program_id]
    async with in_transaction() as conn:
        before = app.status
        await advance(app, conn, status=ApplicationStatus.WITHDRAWN)
        await events.record(conn, app, ApplicationEventKind.WITHDRAWN, ctx.user, comment=comment,
                            from_status=before, to_status=ApplicationStatus.WITHDRAWN)
        if before == ApplicationStatus.SUBMITTED:
            location = await Location.get(id=app.location_id).using_db(conn)
            await notify.send(ctx, program, notify.Draft(
                event="application_withdrawn_admin",
                to=await notify.admin_addresses(ctx, app),
                subject=f"{program.name}: {location.name} withdrew its application",
                title=f"Application withdrawn: {notify.where(program, location)}",
                paragraphs=[f"{location.name} withdrew its application before a decision."]
                + ([f"Reason given: {comment}"] if comment else [])
                + ["There is nothing more to review."],
                action_url=notify.application_url(ctx, app.id), action_label="View the application",
            ), application_id=app.id, conn=conn)
    return await reload(app)



async def get_document(ctx: Context, document_id: int | None) -> Document | None:
    """A document, if the viewer may see its application."""
    if document_id is None:
        return None
    doc = await Document.get_or_none(id=document_id)
    if doc is None or await get_application(ctx, doc.application_id) is None:
        return None
    return doc
