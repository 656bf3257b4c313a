"""Shared helpers for the hardening tests (concurrency, mail faults, crash safety).

They set up data with the ORM in the test process (before a server starts) and drive
``smbselect serve`` over real HTTP: ``server_env`` builds its environment, ``Gql`` posts
GraphQL documents on a fresh connection each time (so the requests of a burst spread over
the server's worker processes), and ``ready_world`` creates many applications ready for a
step (allocations saved, terms accepted), each of its own location and partner user.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from tortoise.transactions import in_transaction

from smbselect import ids, testing
from smbselect.db.enums import ApplicationEventKind, ApplicationStatus, EmailStatus, UserRole
from smbselect.db.models import (
    Application,
    ApplicationEvent,
    Certification,
    EmailMessage,
    Invitation,
    InvitationApplication,
    InvitationLink,
    JobAllocation,
    Location,
    LocationMember,
    LocationStaff,
    Partner,
    Program,
    Session,
    TermsAcceptance,
    User,
)
from smbselect.plugins.manager import Plugins
from smbselect.resolvers.programs import definition_of, sync_programs
from smbselect.security import new_token, token_hash

PROGRAM = "SMB_SELECT"
ROLES = ("ACCOUNT_MANAGER", "SALES_ENGINEER", "FIELD_ENGINEER")

START = "mutation($id: ID!) { applicationStart(input: {applicationId: $id}) { userErrors { code } } }"
SAVE = """mutation($id: ID!, $a: [JobAllocationInput!]!) { jobAllocationsSave(input: {applicationId: $id, allocations: $a}) {
  application { id } userErrors { code message field } } }"""
SUBMIT = """mutation($id: ID!) { applicationSubmit(input: {applicationId: $id}) {
  application { status } userErrors { code message } } }"""
DECIDE = """mutation($id: ID!, $d: Decision!, $c: String) { applicationDecide(input: {applicationId: $id, decision: $d, comment: $c}) {
  application { status } userErrors { code message } } }"""
SEND = """mutation($p: ID!, $partner: ID!, $users: [ID!]!) { invitationSend(input: {programId: $p, partnerId: $partner, userIds: $users}) {
  invitation { id applications { id } } userErrors { code message } } }"""
ACCEPT_INVITATION = """mutation($t: String!, $p: String!) { invitationAccept(input: {token: $t, password: $p}) {
  token userErrors { code message } } }"""
LOGIN = """mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) {
  token userErrors { code } } }"""
EMAIL_RETRY = """mutation($id: ID!) { emailRetry(input: {emailId: $id}) {
  email { id status } userErrors { code message } } }"""


def gid(kind: str, pk: int) -> str:
    return ids.encode(kind, pk)


def server_env(db: str, smtp: testing.SmtpCatcher, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of ``smbselect serve`` for a test: its database, the test SMTP server,
    quick polling; ``extra`` adds or overrides SMBSELECT_* settings (without the prefix)."""
    env = {
        "SMBSELECT_DATABASE_URL": db,
        "SMBSELECT_SMTP_HOST": smtp.host,
        "SMBSELECT_SMTP_PORT": str(smtp.port),
        "SMBSELECT_APP_URL": "http://app.test",
        "SMBSELECT_SECRET_KEY": "hardening-secret",
        "SMBSELECT_DATA_DIR": str(tmp_path / "data"),
        "SMBSELECT_SUPPORT_EMAIL": "support@smbselect.test",
        "SMBSELECT_MAIL_POLL_SECONDS": "0.2",
        "SMBSELECT_PLUGINS": "",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }
    env.update({f"SMBSELECT_{k.upper()}": str(v) for k, v in extra.items()})
    return env


class Gql:
    """GraphQL over real HTTP; every request on its own connection (no keep-alive), so a
    burst of them is spread by the kernel over all of the server's worker processes."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.token = token

    async def post(self, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with httpx.AsyncClient(timeout=timeout) as http:
            response = await http.post(f"{self.base}/graphql",
                                       json={"query": query, "variables": variables or {}},
                                       headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def payload(self, query: str, variables: dict | None = None) -> dict:
        """The mutation's payload (the only field of ``data``)."""
        data = await self.post(query, variables)
        [value] = data.values()
        return value


def outcome(payload: dict) -> str:
    """"ok" or the code of the first user error."""
    errors = payload.get("userErrors") or []
    return errors[0]["code"] if errors else "ok"


def outcome_detail(payload: dict) -> str:
    """Like :func:`outcome`, telling an INVALID_STATUS lost in the race (the conditional update
    on ``version`` found a newer row) from one refused by the status read before it."""
    code = outcome(payload)
    if code == "INVALID_STATUS":
        message = payload["userErrors"][0]["message"]
        return "INVALID_STATUS/race" if "someone else" in message else "INVALID_STATUS/status"
    return code


async def burst(n: int, make: Callable[[int], Awaitable[Any]]) -> list[Any]:
    """``n`` coroutines started at once (asyncio.gather), results in order."""
    return await asyncio.gather(*(make(i) for i in range(n)))


async def session_token(user: User) -> str:
    """A bearer token for ``user``, written as the login would (no password hashing)."""
    token = new_token()
    await Session.create(user=user, token_hash=token_hash(token),
                         expires_at=datetime.now(timezone.utc) + timedelta(hours=2))
    return token


async def sync() -> Plugins:
    """The built-in programs in the database, as the server writes them at start."""
    plugins = Plugins.load([])
    await sync_programs(plugins)
    return plugins


def worker_pids(server: testing.ServerProcess) -> set[str]:
    """The pids of the processes that started serving (uvicorn logs one line each)."""
    import re

    text = Path(server.log_path).read_text(errors="replace") if server.log_path else ""
    return set(re.findall(r"Started server process \[(\d+)\]", text))


def server_problems(server: testing.ServerProcess) -> list[str]:
    """Lines of the server's log that tell of an error: a traceback, an error record, a
    locked database or a deadlock (the relay and the observers log theirs and go on, so a
    test would not see them otherwise)."""
    import re

    text = Path(server.log_path).read_text(errors="replace") if server.log_path else ""
    pattern = re.compile(r"Traceback|\[(error|critical|exception)\b|database is locked|deadlock", re.I)
    return [line for line in text.splitlines() if pattern.search(line)]


# --- a world of ready applications ------------------------------------------------------


@dataclass
class World:
    admin: User
    admin_token: str
    program: Program
    staff: list[User]
    apps: list[Application] = field(default_factory=list)
    users: list[User] = field(default_factory=list)  # users[i] acts for apps[i]'s location
    tokens: list[str] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    partner: Partner | None = None

    @property
    def admin_email(self) -> str:
        return self.admin.email


def full_set(world: World, shift: int = 0) -> list[tuple[str, int]]:
    """A complete, valid allocation set (three roles, nobody holding more than two)."""
    a, b = world.staff[shift % len(world.staff)], world.staff[(shift + 1) % len(world.staff)]
    return [("ACCOUNT_MANAGER", a.id), ("SALES_ENGINEER", a.id), ("FIELD_ENGINEER", b.id)]


def as_input(allocations: Sequence[tuple[str, int]]) -> list[dict[str, str]]:
    return [{"jobRoleCode": role, "userId": gid("User", uid)} for role, uid in allocations]


async def ready_world(
    n: int,
    *,
    status: ApplicationStatus | Callable[[int], ApplicationStatus] = ApplicationStatus.NOT_SUBMITTED,
    staff: int = 2,
    user_name: Callable[[int], str] | None = None,
    location_name: Callable[[int], str] | None = None,
    initial_events: bool = False,
) -> World:
    """``n`` applications to SMB Select, each of its own location of one partner with its own
    partner user (who acts for it and got the invitation link); all share ``staff`` CSE-
    certified staff. Each has a full allocation set and the current terms accepted, and is
    in ``status`` (or ``status(i)``; SUBMITTED ones have submitted_at and a due date). With ``initial_events``
    the STARTED (and SUBMITTED) events of that history are written too."""
    plugins = await sync()
    program = await Program.get(code=PROGRAM)
    terms = definition_of(program, plugins).terms
    now = datetime.now(timezone.utc)
    async with in_transaction() as conn:
        admin = await User.create(username="ada", email="ada@cisco.example", name="Ada Admin",
                                  role=UserRole.ADMIN, password_hash=await testing._cached_hash(
                                      testing.ADMIN_PASSWORD), using_db=conn)
        partner = await Partner.create(name="Equant", using_db=conn)
        people = []
        for s in range(staff):
            person = await User.create(username=f"staff{s}", email=f"staff{s}@equant.example",
                                       name=f"Staff {s}", role=UserRole.PARTNER, partner=partner,
                                       using_db=conn)
            await Certification.create(user=person, code="CSE", expires_on=None, using_db=conn)
            people.append(person)
        invitation = await Invitation.create(program=program, partner=partner, invited_by=admin,
                                             sent_at=now, expires_at=now + timedelta(days=30),
                                             using_db=conn)
        world = World(admin, "", program, people, partner=partner)
        for i in range(n):
            loc = await Location.create(partner=partner, country="AT", using_db=conn,
                                        name=location_name(i) if location_name else f"Equant {i:03d}")
            user = await User.create(username=f"user{i:03d}", email=f"user{i:03d}@equant.example",
                                     name=user_name(i) if user_name else f"User {i:03d}",
                                     role=UserRole.PARTNER, partner=partner,
                                     password_hash=await testing._cached_hash(testing.PARTNER_PASSWORD),
                                     using_db=conn)
            await LocationMember.create(location=loc, user=user, using_db=conn)
            for person in people:
                await LocationStaff.create(location=loc, user=person, using_db=conn)
            await InvitationLink.create(invitation=invitation, user=user, token_hash=token_hash(new_token()),
                                        expires_at=now + timedelta(days=30), using_db=conn)
            app_status = status(i) if callable(status) else status
            submitted = app_status == ApplicationStatus.SUBMITTED
            app = await Application.create(
                program=program, location=loc, partner=partner, status=app_status, invitation=invitation,
                invited_at=now, invitation_expires_at=now + timedelta(days=30),
                submitted_at=now if submitted else None,
                review_due_on=(now + timedelta(days=14)).date() if submitted else None,
                using_db=conn,
            )
            await InvitationApplication.create(invitation=invitation, application=app, using_db=conn)
            await JobAllocation.bulk_create(
                [JobAllocation(application=app, role_code=r, user_id=u) for r, u in full_set(world, i)],
                using_db=conn)
            await TermsAcceptance.create(application=app, user=user, username=user.username,
                                         version=terms.version, sha256=terms.sha256, accepted_at=now,
                                         using_db=conn)
            if initial_events:
                await ApplicationEvent.create(application=app, occurred_at=now, kind=ApplicationEventKind.STARTED,
                                              from_status=ApplicationStatus.IN_PROGRESS,
                                              to_status=ApplicationStatus.NOT_SUBMITTED, using_db=conn)
                if submitted:
                    await ApplicationEvent.create(application=app, occurred_at=now, actor=user,
                                                  actor_name=user.name, actor_role=UserRole.PARTNER,
                                                  kind=ApplicationEventKind.SUBMITTED,
                                                  from_status=ApplicationStatus.NOT_SUBMITTED,
                                                  to_status=ApplicationStatus.SUBMITTED, using_db=conn)
            world.apps.append(app)
            world.users.append(user)
            world.locations.append(loc)
    world.admin_token = await session_token(admin)
    world.tokens = [await session_token(u) for u in world.users]
    return world


# --- the outbox -------------------------------------------------------------------------


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(every)
    return await check()


async def outbox_drained(smtp: testing.SmtpCatcher, timeout: float = 30, grace: float = 0.6) -> dict[str, int]:
    """Wait until no email is QUEUED and the SMTP server holds as many messages as the
    outbox has SENT rows, then a little longer (a duplicate would arrive late)."""

    async def done() -> bool:
        queued = await EmailMessage.filter(status=EmailStatus.QUEUED).count()
        sent = await EmailMessage.filter(status=EmailStatus.SENT).count()
        return queued == 0 and len(smtp.messages) >= sent

    await wait_until(done, timeout)
    await asyncio.sleep(grace)
    return await mail_figures(smtp)


async def mail_figures(smtp: testing.SmtpCatcher) -> dict[str, int]:
    """Rows by status, messages received, and duplicates (a Message-ID received twice)."""
    counts = Counter(await EmailMessage.all().values_list("status", flat=True))
    ids_seen = Counter(str(m.message["Message-ID"]) for m in smtp.messages)
    rows = set(await EmailMessage.all().values_list("message_id", flat=True))
    return {
        "queued": counts.get(EmailStatus.QUEUED, 0),
        "sent": counts.get(EmailStatus.SENT, 0),
        "failed": counts.get(EmailStatus.FAILED, 0),
        "received": len(smtp.messages),
        "duplicates": sum(c - 1 for c in ids_seen.values()),
        "unknown": sum(1 for i in ids_seen if i not in rows),
        "lost": len({r for r in await EmailMessage.filter(status=EmailStatus.SENT).values_list(
            "message_id", flat=True)} - set(ids_seen)),
    }


def per_recipient(smtp: testing.SmtpCatcher) -> Counter[str]:
    return Counter(r for m in smtp.messages for r in m.rcpt_tos)
