"""Per-request, batched reads of an application's parts for the GraphQL fields.

Every Application object of a response registers its row here; the first field that needs
the rules' view of any of them evaluates all of them at once (``rules.evaluate``), so the
cost of a page does not grow with its size.
"""

from __future__ import annotations

from smbselect.context import Context
from smbselect.db.models import Application, Document, Location, TermsAcceptance, User
from smbselect.plugins.definitions import JobRoleDef
from smbselect.resolvers import history, loaders, rules
from smbselect.resolvers.programs import ProgramView, view_of

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
                   emails: bool = False) -> None:
    """Evaluate a page of applications (and load their allocated people) before its fields
    are resolved, so that those fields find everything ready (see the ``*_now`` functions).
    The page's resolver calls this when the query asks for such fields. ``events``: their
    audit trails are shown too; read first, so that their actors are loaded with the
    other people. ``emails``: their emails are shown too (an admin's: a partner sees none)."""
    if not rows:
        return
    cached = _rows(ctx)
    for row in rows:
        cached.setdefault(row.id, row)
    app_ids = [row.id for row in rows]
    mail = history.mailboxes(ctx).load_many(app_ids) if emails and ctx.is_admin else None  # beside the trails
    actors: set[int] = set()
    if events:
        for trail in await history.trails(ctx).load_many(app_ids):
            actors.update(e.actor_id for e in trail if e.actor_id)
    if mail is not None:
        await mail
    known = _evaluations(ctx)
    wanted = [row for row in rows if known.peek(row.id) is loaders.MISSING]
    # Evaluated here, not through the loader, to load the people with the checks' own.
    found = await rules.evaluate(ctx, wanted, submitted_too=False, people=people, other_people=actors)
    for app_id, ev in found.items():
        known.prime(app_id, ev)


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
