"""Per-request, batched reads of an application's parts for the GraphQL fields.

Every Application object of a response registers its row here; the first field that needs
the rules' view of any of them evaluates all of them at once (``rules.evaluate``), so the
cost of a page does not grow with its size.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from smbselect.context import Context
from smbselect.db import bundle
from smbselect.db.models import (
    Application,
    ApplicationEvent,
    Certification,
    Document,
    EmailMessage,
    JobAllocation,
    Location,
    LocationStaff,
    TermsAcceptance,
    User,
)
from smbselect.plugins.definitions import JobRoleDef
from smbselect.resolvers import history, loaders, rules
from smbselect.resolvers.programs import ProgramView, view_of
from smbselect.resolvers.status import EDITABLE

_ROWS = "application_rows"


def _rows(ctx: Context) -> dict[int, Application]:
    return ctx.cache.setdefault(_ROWS, {})


def _evaluations(ctx: Context) -> loaders.BatchLoader[int, rules.Evaluation]:
    async def batch(app_ids: list[int]) -> list[rules.Evaluation]:
        rows = _rows(ctx)
        found = await rules.evaluate(ctx, [rows[i] for i in app_ids], submitted_too=False)  # blockers only
        return [found[i] for i in app_ids]

    return loaders.loader(ctx, "evaluation", batch)


async def of(ctx: Context, row: Application) -> rules.Evaluation:
    _rows(ctx).setdefault(row.id, row)
    return await _evaluations(ctx).load(row.id)


async def roles_of(ctx: Context, row: Application) -> rules.Roles:
    """The application's job roles (program and location), batched for the request."""
    _rows(ctx).setdefault(row.id, row)

    async def batch(app_ids: list[int]) -> list[rules.Roles]:
        rows = _rows(ctx)
        found = await rules.roles_of(ctx, [rows[i] for i in app_ids])
        return [found[i] for i in app_ids]

    return await loaders.loader(ctx, "roles", batch).load(row.id)


async def prefetch(ctx: Context, rows: list[Application], *, people: bool, events: bool = False,
                   emails: bool = False, certifications: bool = False) -> None:
    """Evaluate a page of applications (and load their allocated people) before its fields
    are resolved, so that those fields find everything ready (see the ``*_now`` functions).
    The page's resolver calls this when the query asks for such fields. ``events``: their
    audit trails are shown too, with their actors. ``emails``: their emails are shown too
    (an admin's: a partner sees none). ``certifications``: the allocated people's are shown.

    Everything is read in one statement (:func:`_read_together`), then evaluated with no
    further statement: one application with everything took ten."""
    if not rows:
        return
    cached = _rows(ctx)
    for row in rows:
        cached.setdefault(row.id, row)
    known = _evaluations(ctx)
    wanted = [row for row in rows if known.peek(row.id) is loaders.MISSING]
    if not wanted:
        return
    parts = await _read_together(ctx, wanted, people=people, events=events, emails=emails,
                                 certifications=certifications)
    found = await rules.evaluate(ctx, wanted, submitted_too=False, parts=parts)
    for app_id, ev in found.items():
        known.prime(app_id, ev)


async def _read_together(ctx: Context, rows: list[Application], *, people: bool, events: bool, emails: bool,
                         certifications: bool) -> rules.Parts:
    """One statement for what evaluating ``rows`` and showing them needs: the allocations,
    the terms, the uploads, the trails and emails when shown, the people (allocated, who
    accepted the terms, the trails' actors), and the certifications and staff rows of the
    people allocated to applications still editable (their checks; every allocated
    person's certifications when ``certifications``). The request's loaders are primed
    with them; the rest is returned for :func:`rules.evaluate`."""
    ids = [row.id for row in rows]
    checked = [row.id for row in rows if row.status in EDITABLE]  # evaluate's checks (submitted_too=False)
    in_ids = f'"application_id" IN ({bundle.marks(len(ids))})'
    current_terms = in_ids + ' AND "withdrawn_at" IS NULL'
    documents = loaders.documents_of(ctx)
    unread_documents = [i for i in ids if documents.peek(i) is loaders.MISSING]
    reads: dict[str, bundle.Read] = {
        "allocations": bundle.Read(JobAllocation, in_ids, tuple(ids), ("id",),
                                   ("application_id", "role_code", "user_id")),
        "terms": bundle.Read(TermsAcceptance, current_terms, tuple(ids), ("accepted_at",)),
    }
    if unread_documents:
        reads["documents"] = bundle.Read(
            Document, f'"application_id" IN ({bundle.marks(len(unread_documents))})', tuple(unread_documents),
            ("uploaded_at", "id"))
    if events:
        reads["events"] = bundle.Read(ApplicationEvent, in_ids, tuple(ids), ("occurred_at", "id"))
    if emails and ctx.is_admin:
        reads["emails"] = bundle.Read(EmailMessage, in_ids, tuple(ids), ("id",))
    allocated = ids if people else checked  # whose allocated people are loaded
    certified = ids if people and certifications else checked  # whose people's certifications
    sources: list[tuple[str, list[int]]] = []
    if allocated:
        sources.append((_ALLOCATED.format(bundle.marks(len(allocated))), allocated))
    if people:
        sources.append(('SELECT "user_id" FROM "terms_acceptance" WHERE ' + current_terms, ids))
    if events:
        sources.append(('SELECT "actor_id" FROM "application_event" WHERE ' + in_ids, ids))
    if sources:
        reads["users"] = bundle.Read(User, '"id" IN (' + " UNION ".join(sql for sql, _ in sources) + ")",
                                     tuple(p for _, params in sources for p in params))
    if certified:
        reads["certifications"] = bundle.Read(
            Certification, f'"user_id" IN ({_ALLOCATED.format(bundle.marks(len(certified)))})', tuple(certified),
            ("code",))
    if checked:
        reads["staff"] = bundle.Read(
            LocationStaff, f'"user_id" IN ({_ALLOCATED.format(bundle.marks(len(checked)))})', tuple(checked),
            columns=("user_id", "location_id"))
    found = dict(zip(reads, await bundle.read(list(reads.values())), strict=True))

    allocations: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for app_id, role_code, user_id in found["allocations"]:
        allocations[app_id].append((role_code, user_id))
    terms: dict[int, TermsAcceptance] = {}
    for t in found["terms"]:
        terms[t.application_id] = t  # the last accepted
    _prime_groups(documents, unread_documents, found.get("documents", ()), "application_id")
    if "events" in found:
        _prime_groups(history.trails(ctx), ids, found["events"], "application_id")
    if "emails" in found:
        _prime_groups(history.mailboxes(ctx), ids, found["emails"], "application_id")
    if "users" in found:
        asked = {uid for app_id in allocated for _, uid in allocations.get(app_id, ())}
        if people:
            asked |= {t.user_id for t in terms.values()}
        asked |= {e.actor_id for e in found.get("events", ()) if e.actor_id}
        users = loaders.user_by_id(ctx)
        by_id = {u.id: u for u in found["users"]}
        for uid in asked:
            users.prime(uid, by_id.get(uid))
    if certified:
        held = {uid for app_id in certified for _, uid in allocations.get(app_id, ())}
        _prime_groups(loaders.certifications_of(ctx), list(held), found["certifications"], "user_id")
    return rules.Parts(allocations=allocations, terms=terms, staff=set(found.get("staff", ())))


_ALLOCATED = 'SELECT "user_id" FROM "job_allocation" WHERE "application_id" IN ({})'


def _prime_groups(loader: loaders.BatchLoader[int, list[Any]], keys: list[int], rows: Any, key: str) -> None:
    """Prime each of ``keys`` with its rows (grouped by the attribute ``key``, in order)."""
    for k, group in zip(keys, loaders.grouped(rows, key, keys), strict=True):
        loader.prime(k, group)


# The same reads, answered only from what the request already holds: MISSING otherwise.


def of_now(ctx: Context, row: Application) -> rules.Evaluation:
    return _evaluations(ctx).peek(row.id)


def _views(ctx: Context) -> dict[int, ProgramView]:
    """The request's program views by program id: a page's rows share one or two programs,
    each row's ``program`` field asked the plugins for the definition again."""
    return ctx.cache.setdefault("program_views", {})


def program_view_now(ctx: Context, row: Application) -> ProgramView:
    views = _views(ctx)
    view = views.get(row.program_id)
    if view is None:
        found = rules.program_now(ctx, row.program_id)
        if found is loaders.MISSING:
            return found
        view = views[row.program_id] = view_of(found[0], ctx)
    return view


def location_now(ctx: Context, row: Application) -> Location:
    return loaders.location_by_id(ctx).peek(row.location_id)


def allocations_now(ctx: Context, row: Application) -> list[tuple[JobRoleDef, User]]:
    ev = of_now(ctx, row)
    if ev is loaders.MISSING:
        return loaders.MISSING
    users = loaders.user_by_id(ctx)
    people = [users.peek(uid) for _, uid in ev.allocations]
    if any(p is loaders.MISSING for p in people):
        return loaders.MISSING
    return _pairs(ev, people)


def _pairs(ev: rules.Evaluation, users: list[User | None]) -> list[tuple[JobRoleDef, User]]:
    roles = {r.code: r for r in ev.job_roles}
    out = []
    for (role_code, _uid), user in zip(ev.allocations, users):
        role = roles.get(role_code) or JobRoleDef(role_code, role_code, ("?",))
        if user is not None:
            out.append((role, user))
    return out


async def program_view(ctx: Context, row: Application) -> ProgramView:
    programs = await rules.programs_by_id(ctx, [row.program_id])
    program_row, _ = programs[row.program_id]
    views = _views(ctx)
    if row.program_id not in views:
        views[row.program_id] = view_of(program_row, ctx)
    return views[row.program_id]


async def location_of(ctx: Context, row: Application) -> Location:
    location = await loaders.location_by_id(ctx).load(row.location_id)
    assert location is not None
    return location


async def allocations(ctx: Context, row: Application) -> list[tuple[JobRoleDef, User]]:
    ev = await of(ctx, row)
    return _pairs(ev, await loaders.user_by_id(ctx).load_many([uid for _, uid in ev.allocations]))


async def qualified_staff(ctx: Context, row: Application, role_code: str) -> list[User]:
    """The role's drop-down; the drop-downs of a whole page are computed together. It needs
    the job roles only, not a whole evaluation (allocations, terms, documents, checks)."""
    ev = of_now(ctx, row)
    roles = await roles_of(ctx, row) if ev is loaders.MISSING else ev
    role = next((r for r in roles.job_roles if r.code == role_code), None)
    if role is None:
        return []
    requests: dict[tuple[int, str], tuple[rules.Roles | rules.Evaluation, JobRoleDef]] = ctx.cache.setdefault(
        "qualified_staff_requests", {}
    )
    requests[(row.id, role_code)] = (roles, role)

    async def batch(keys: list[tuple[int, str]]) -> list[list[User]]:
        return await rules.qualified_staff_batch(ctx, [requests[k] for k in keys])

    return await loaders.loader(ctx, "qualified_staff", batch).load((row.id, role_code))


async def terms_acceptance(ctx: Context, row: Application) -> tuple[TermsAcceptance, User] | None:
    ev = await of(ctx, row)
    if ev.terms is None:
        return None
    user = await loaders.user_by_id(ctx).load(ev.terms.user_id)
    return (ev.terms, user) if user is not None else None


def terms_acceptance_now(ctx: Context, row: Application) -> tuple[TermsAcceptance, User] | None:
    """:func:`terms_acceptance` if the request holds the evaluation and the person (a
    prefetch loads both), else ``MISSING``."""
    ev = of_now(ctx, row)
    if ev is loaders.MISSING:
        return loaders.MISSING
    if ev.terms is None:
        return None
    user = loaders.user_by_id(ctx).peek(ev.terms.user_id)
    if user is loaders.MISSING:
        return loaders.MISSING
    return (ev.terms, user) if user is not None else None


def all_documents_now(ctx: Context, row: Application) -> list[Document]:
    """:func:`all_documents` if the request holds them (an evaluation reads them), else
    ``MISSING``."""
    return loaders.documents_of(ctx).peek(row.id)


async def all_documents(ctx: Context, row: Application) -> list[Document]:
    """Every upload of the application, superseded ones included, oldest first."""
    return await loaders.documents_of(ctx).load(row.id)
