"""What the program's rules say about applications: roles, qualifications, documents, blockers.

Everything is computed for a whole batch of applications at once: the data the rule hooks
need is loaded in a fixed number of queries, turned into plain frozen values, and each
program's plugins are asked once per batch (once per distinct role for qualifications). A
page of 50 applications therefore costs what a page of 10 costs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from smbselect.context import Context
from smbselect.db.enums import ApplicationStatus, DocumentStatus
from smbselect.db.models import (
    Application,
    Document,
    JobAllocation,
    Location,
    LocationStaff,
    Partner,
    Program,
    TermsAcceptance,
    User,
)
from smbselect.db.rows import pairs_where_in, rows_where_in
from smbselect.errors import ErrorCode
from smbselect.plugins.definitions import (
    ApplicationInfo,
    BlockerDef,
    CandidateInfo,
    CertificationInfo,
    DocumentRequirementDef,
    JobRoleDef,
    LocationInfo,
    ProgramDef,
    Qualification,
)
from smbselect.resolvers import loaders
from smbselect.resolvers.programs import definition_of
from smbselect.resolvers.status import EDITABLE


def today() -> date:
    return datetime.now(timezone.utc).date()


@dataclass
class Evaluation:
    """One application as its program's rules see it now."""

    application: Application
    program: ProgramDef
    program_active: bool
    location: LocationInfo
    job_roles: list[JobRoleDef]
    allocations: list[tuple[str, int]]
    terms: TermsAcceptance | None
    documents: list[Document]
    required_documents: list[DocumentRequirementDef]
    unqualified: dict[tuple[str, int], str] = field(default_factory=dict)
    plugin_blockers: list[BlockerDef] = field(default_factory=list)

    @property
    def missing_job_roles(self) -> list[JobRoleDef]:
        counts: dict[str, int] = defaultdict(int)
        for role_code, _ in self.allocations:
            counts[role_code] += 1
        return [r for r in self.job_roles if counts[r.code] < r.headcount]

    @property
    def missing_documents(self) -> list[DocumentRequirementDef]:
        accepted = {d.requirement_code for d in self.documents if d.status == DocumentStatus.ACCEPTED}
        return [d for d in self.required_documents if d.code not in accepted]

    @property
    def terms_current(self) -> bool:
        return self.terms is not None and self.terms.version == self.program.terms.version

    def blockers(self) -> list[BlockerDef]:
        """Why SUBMIT may not be shown, each a sentence a person can act on."""
        app = self.application
        if app.status not in EDITABLE:
            return [BlockerDef(
                ErrorCode.INVALID_STATUS.value,
                f"The application is {app.status.value.replace('_', ' ')}: it cannot be submitted now.",
            )]
        out: list[BlockerDef] = []
        if not self.program_active:
            out.append(BlockerDef(
                ErrorCode.PROGRAM_UNAVAILABLE.value,
                f"The program {self.program.name} is no longer offered; contact "
                f"{self.program.support_email or 'support'}.",
            ))
        for role in self.missing_job_roles:
            have = sum(1 for code, _ in self.allocations if code == role.code)
            need = role.headcount - have
            who = "a person" if need == 1 else f"{need} more people"
            out.append(BlockerDef(
                ErrorCode.ROLES_MISSING.value,
                f"Allocate {who} to the job role {role.name}.",
                job_role_code=role.code,
            ))
        for (role_code, _user_id), reason in self.unqualified.items():
            role = next((r for r in self.job_roles if r.code == role_code), None)
            name = role.name if role else role_code
            out.append(BlockerDef(
                ErrorCode.NOT_QUALIFIED.value,
                f"The person allocated to {name} no longer qualifies: {reason} Allocate someone else.",
                job_role_code=role_code,
            ))
        if not self.terms_current:
            if app.terms_declined:
                out.append(BlockerDef(
                    ErrorCode.TERMS_DECLINED.value,
                    "You did not accept the terms and conditions; they must be accepted for the "
                    "application to be accepted.",
                ))
            elif self.terms is not None:
                out.append(BlockerDef(
                    ErrorCode.TERMS_NOT_ACCEPTED.value,
                    f"The terms and conditions changed (now version {self.program.terms.version}); "
                    "read and accept them again.",
                ))
            else:
                out.append(BlockerDef(
                    ErrorCode.TERMS_NOT_ACCEPTED.value, "Read and accept the terms and conditions."
                ))
        out.extend(self.plugin_blockers)
        return out

    @property
    def can_submit(self) -> bool:
        return not self.blockers()

    def info(self) -> ApplicationInfo:
        return ApplicationInfo(
            id=self.application.id,
            program_code=self.program.code,
            location=self.location,
            status=self.application.status.value,
            allocations=tuple(self.allocations),
            terms_accepted=self.terms_current,
            documents=tuple((d.requirement_code, d.status.value) for d in self.documents),
        )


def location_info(location: Location) -> LocationInfo:
    return LocationInfo(location.id, location.partner_id, location.name, location.country)


def _programs_loader(ctx: Context) -> loaders.BatchLoader[int, tuple[Program, ProgramDef] | None]:
    async def batch(keys: list[int]) -> list[tuple[Program, ProgramDef] | None]:
        rows = {r.id: r for r in await rows_where_in(Program, "id", keys)}
        return [(rows[k], definition_of(rows[k], ctx.plugins)) if k in rows else None for k in keys]

    return loaders.loader(ctx, "programs_by_id", batch)


async def programs_by_id(ctx: Context, ids: Iterable[int]) -> dict[int, tuple[Program, ProgramDef]]:
    """Program rows and definitions, batched and cached for the request."""
    wanted = list(dict.fromkeys(ids))
    found = await _programs_loader(ctx).load_many(wanted)
    return {k: v for k, v in zip(wanted, found) if v is not None}


def program_now(ctx: Context, program_id: int) -> tuple[Program, ProgramDef]:
    """The program row and definition if this request has them, else ``loaders.MISSING``."""
    found = _programs_loader(ctx).peek(program_id)
    return loaders.MISSING if found is None else found


def prime(ctx: Context, apps: Sequence[Application]) -> None:
    """Remember the program, location and partner joined to a page of applications, so the
    fields that need them ask the database nothing more."""
    programs, locations, partners = _programs_loader(ctx), loaders.location_by_id(ctx), loaders.partner_by_id(ctx)
    seen: set[int] = set()  # the programs primed here: a page has one or two, joined by every row
    for app in apps:
        program = app.program
        if isinstance(program, Program) and program.id not in seen:
            seen.add(program.id)
            programs.prime(program.id, (program, definition_of(program, ctx.plugins)))
        location = app.location
        if isinstance(location, Location):
            locations.prime(location.id, location)
            partner = getattr(location, "partner", None)
            if isinstance(partner, Partner):
                partners.prime(partner.id, partner)


async def candidates(ctx: Context, user_ids: Iterable[int], staff_location: int | None = None) -> dict[int, CandidateInfo]:
    """Plain candidate data (active, staff of ``staff_location``, certifications) for some
    people; without a location, ``is_staff`` is False and callers set it per application."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    # Through the request's loaders, in one round (both asked before either is awaited): a
    # page that also shows these people's certifications (one application's allocations)
    # reads them once, not twice.
    people_read = loaders.user_by_id(ctx).load_many(ids)
    certifications_read = loaders.certifications_of(ctx).load_many(ids)
    people, certifications = await people_read, await certifications_read
    users = {u.id: u for u in people if u is not None}
    certs = {uid: [CertificationInfo(c.code, c.expires_on) for c in held] for uid, held in zip(ids, certifications)}
    staff_pairs: set[tuple[int, int]] = set()
    if staff_location is not None:
        staff_pairs = set(
            await LocationStaff.filter(user_id__in=ids, location_id=staff_location).values_list(
                "user_id", "location_id"
            )
        )
    out: dict[int, CandidateInfo] = {}
    for uid, user in users.items():
        is_staff = staff_location is not None and (uid, staff_location) in staff_pairs
        out[uid] = CandidateInfo(uid, user.name, user.active, is_staff, tuple(certs[uid]))
    return out


@dataclass(frozen=True)
class Roles:
    """What an application's job roles depend on: its program and its location (all that a
    drop-down needs, without the rest of an evaluation)."""

    program: ProgramDef
    location: LocationInfo
    job_roles: list[JobRoleDef]


async def roles_of(ctx: Context, apps: Sequence[Application]) -> dict[int, Roles]:
    """The job roles of a batch of applications, the plugins asked once per program."""
    programs = await programs_by_id(ctx, [a.program_id for a in apps])
    locations = {
        loc.id: loc for loc in await loaders.location_by_id(ctx).load_many(list({a.location_id for a in apps}))
        if loc is not None
    }
    by_program: dict[int, list[Application]] = defaultdict(list)
    for app in apps:
        by_program[app.program_id].append(app)
    out: dict[int, Roles] = {}
    for program_id, group in by_program.items():
        _, pdef = programs[program_id]
        infos = {a.id: location_info(locations[a.location_id]) for a in group}
        roles_by_location = ctx.plugins.job_roles(pdef, list({i.id: i for i in infos.values()}.values()))
        for app in group:
            out[app.id] = Roles(pdef, infos[app.id], roles_by_location[app.location_id])
    return out


@dataclass(frozen=True)
class Parts:
    """What :func:`evaluate` would read for a batch, read beforehand (in the statement of
    ``evaluations.prefetch``): each application's allocations ``(role code, user id)`` in
    order, its current terms acceptance, and the staff rows ``(user id, location id)`` of
    the people allocated to those still editable."""

    allocations: dict[int, list[tuple[str, int]]]
    terms: dict[int, TermsAcceptance]
    staff: set[tuple[int, int]]


async def evaluate(
    ctx: Context, apps: Sequence[Application], *, submitted_too: bool = True, parts: Parts | None = None,
) -> dict[int, Evaluation]:
    """Evaluate a batch of applications (a fixed number of queries and plugin calls).

    The allocations and the plugins' blockers are checked for the applications that can
    still be submitted, and for SUBMITTED ones when ``submitted_too``: an approval reads
    their ``unqualified``. The fields of a page pass False: a SUBMITTED application's
    blockers are INVALID_STATUS alone, so its people's certifications and staff rows (two
    statements, most of an approval queue page's database time) would be read for nothing.

    ``parts``: the allocations, terms and staff rows, read already (the people and their
    certifications are then in the request's loaders too): no statement is made for them.
    """
    if not apps:
        return {}
    app_ids = [a.id for a in apps]
    uploads_read = loaders.documents_of(ctx).load_many(app_ids)  # read beside the statements below
    programs = await programs_by_id(ctx, [a.program_id for a in apps])
    roles = await roles_of(ctx, apps)
    allocations: dict[int, list[tuple[str, int]]] = defaultdict(list)
    terms: dict[int, TermsAcceptance] = {}
    if parts is not None:
        allocations.update(parts.allocations)
        terms = parts.terms
    else:
        for app_id, role_code, user_id in await pairs_where_in(
            JobAllocation, "application_id", app_ids, ("application_id", "role_code", "user_id"), order_by=("id",)
        ):
            allocations[app_id].append((role_code, user_id))
        for t in await rows_where_in(TermsAcceptance, "application_id", app_ids, extra='"withdrawn_at" IS NULL',
                                     order_by=("accepted_at",)):
            terms[t.application_id] = t
    documents: dict[int, list[Document]] = defaultdict(list)
    for app_id, uploads in zip(app_ids, await uploads_read):
        documents[app_id] = [d for d in uploads if not d.superseded]

    evaluations: dict[int, Evaluation] = {}
    by_program: dict[int, list[Application]] = defaultdict(list)
    for app in apps:
        by_program[app.program_id].append(app)
    for program_id, group in by_program.items():
        row, pdef = programs[program_id]
        for app in group:
            evaluations[app.id] = Evaluation(
                application=app,
                program=pdef,
                program_active=row.active,
                location=roles[app.id].location,
                job_roles=roles[app.id].job_roles,
                allocations=allocations[app.id],
                terms=terms.get(app.id),
                documents=documents[app.id],
                required_documents=[],
            )
        app_infos = [evaluations[a.id].info() for a in group]
        required = ctx.plugins.required_documents(pdef, app_infos)
        for app in group:
            evaluations[app.id].required_documents = required[app.id]
    # Allocations of every program on the page are checked in one pass (one load of the
    # people), then each program's plugins add their blockers.
    checked = EDITABLE | {ApplicationStatus.SUBMITTED} if submitted_too else EDITABLE
    live = [ev for ev in evaluations.values() if ev.application.status in checked]
    await _check_allocations(ctx, live, parts.staff if parts is not None else None)
    for program_id, group in by_program.items():
        _, pdef = programs[program_id]
        editable = [ev for ev in live if ev.application.program_id == program_id]
        blockers = ctx.plugins.submit_blockers(pdef, [e.info() for e in editable])
        for ev in editable:
            ev.plugin_blockers = blockers.get(ev.application.id, [])
    return evaluations


async def _check_allocations(ctx: Context, evaluations: list[Evaluation],
                             staff: set[tuple[int, int]] | None = None) -> None:
    """Mark allocated people who no longer qualify (expired, left, deactivated). ``staff``:
    the people's staff rows, when read already."""
    need: dict[int, set[int]] = defaultdict(set)  # user -> locations where they must be staff
    for ev in evaluations:
        for _role, uid in ev.allocations:
            need[uid].add(ev.location.id)
    if not need:
        return
    people = await candidates(ctx, need.keys())
    staff_pairs = staff if staff is not None else set(
        await pairs_where_in(LocationStaff, "user_id", list(need), ("user_id", "location_id"))
    )
    by_role: dict[tuple[str, JobRoleDef], list[tuple[Evaluation, CandidateInfo]]] = defaultdict(list)
    # One value per person and staff flag: a page allocates the same people again and again.
    made: dict[tuple[int, bool], CandidateInfo] = {}
    for ev in evaluations:
        roles = {r.code: r for r in ev.job_roles}
        for role_code, uid in ev.allocations:
            role = roles.get(role_code)
            person = people.get(uid)
            if role is None or person is None:
                ev.unqualified[(role_code, uid)] = "The job role or the person no longer exists."
                continue
            key = (uid, (uid, ev.location.id) in staff_pairs)
            here = made.get(key)
            if here is None:
                here = made[key] = CandidateInfo(uid, person.name, person.active, key[1], person.certifications)
            by_role[(ev.program.code, role)].append((ev, here))
    for (_code, role), pairs in by_role.items():
        program = pairs[0][0].program
        # A person may be staff at one application's location and not at another's: ask per
        # distinct candidate value (the staff flag is part of it).
        distinct = list({(c.user_id, c.is_staff): c for _, c in pairs}.values())
        answers: dict[tuple[int, bool], Qualification] = {}
        for flag in (True, False):
            group = [c for c in distinct if c.is_staff is flag]
            if group:
                for uid, q in ctx.plugins.qualify(program, role, group, today()).items():
                    answers[(uid, flag)] = q
        for ev, cand in pairs:
            q = answers[(cand.user_id, cand.is_staff)]
            if not q.qualified:
                ev.unqualified[(role.code, cand.user_id)] = q.reason or "Not qualified."


async def qualified_staff_batch(
    ctx: Context, requests: Sequence[tuple[Roles | Evaluation, JobRoleDef]]
) -> list[list[User]]:
    """The drop-downs of many (application, role) pairs at once: each location's staff who
    qualify for the role, by name. Staff, people and certifications are loaded once for
    all, and the plugins are asked once per (program, role)."""
    locations = {ev.location.id for ev, _ in requests}
    staff_by_location: dict[int, list[int]] = defaultdict(list)
    for user_id, location_id in await pairs_where_in(
        LocationStaff, "location_id", list(locations), ("user_id", "location_id")
    ):
        staff_by_location[location_id].append(user_id)
    everyone = {uid for ids in staff_by_location.values() for uid in ids}
    people = await candidates(ctx, everyone)
    asked: dict[tuple[str, JobRoleDef], dict[int, Qualification]] = {}
    for ev, role in requests:
        key = (ev.program.code, role)
        if key in asked:
            continue
        group = {
            uid: people[uid]
            for e, r in requests if (e.program.code, r) == key
            for uid in staff_by_location[e.location.id] if uid in people
        }
        staff = [CandidateInfo(c.user_id, c.name, c.active, True, c.certifications) for c in group.values()]
        asked[key] = ctx.plugins.qualify(ev.program, role, staff, today()) if staff else {}
    ok_ids = {uid for answers in asked.values() for uid, q in answers.items() if q.qualified}
    # candidates() loaded these people through the request's loader: no new query.
    users = {u.id: u for u in await loaders.user_by_id(ctx).load_many(sorted(ok_ids)) if u is not None}
    out: list[list[User]] = []
    for ev, role in requests:
        answers = asked[(ev.program.code, role)]
        chosen = [users[uid] for uid in staff_by_location[ev.location.id]
                  if uid in users and answers.get(uid) is not None and answers[uid].qualified]
        out.append(sorted(chosen, key=lambda u: (u.name, u.id)))
    return out
