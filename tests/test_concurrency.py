"""Racing requests against `smbselect serve` with two worker processes (hardening item 5).

The data is written with the ORM before the server starts; then bursts of simultaneous
requests (asyncio.gather, one connection each, so both workers take part) hit one object,
and the database, the outbox and the SMTP server must show that exactly one of them won:
one decision and one decision email, one submission and its emails once, one allocation
set whole (never a mix), one application per program and location, one first password.
On SQLite the two processes share the file, on PostgreSQL the database.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import datetime, timedelta, timezone

from smbselect import testing
from smbselect.db.enums import ApplicationEventKind, ApplicationStatus, UserRole
from smbselect.db.models import (
    Application,
    ApplicationEvent,
    EmailMessage,
    Invitation,
    InvitationApplication,
    InvitationLink,
    JobAllocation,
    Program,
    Session,
    User,
)
from smbselect.security import new_token, token_hash
import flows
from flows import Gql, outcome


class _server(testing.ServerProcess):
    """Two workers; on the way out the log must show no error (a locked database, a
    deadlock or a traceback in the relay or the observers' feed would only be logged)."""

    def __init__(self, db, smtp, tmp_path, **settings: str) -> None:  # type: ignore[no-untyped-def]
        super().__init__(flows.server_env(db, smtp, tmp_path, **settings), cwd=str(tmp_path), workers=2)

    async def __aexit__(self, *exc: object) -> None:
        await super().__aexit__(*exc)
        if exc[0] is None:
            problems = flows.server_problems(self)
            assert not problems, "\n".join(problems[:20])


async def test_fifty_simultaneous_decisions_take_one(db, smtp, tmp_path):
    # given two SUBMITTED applications, complete and ready for approval
    world = await flows.ready_world(2, status=ApplicationStatus.SUBMITTED)
    approve, mixed = world.apps
    async with _server(db, smtp, tmp_path) as server:
        admin = Gql(server.url, world.admin_token)
        # when 50 approvals of the first arrive at once
        results = await flows.burst(50, lambda i: admin.payload(
            flows.DECIDE, {"id": flows.gid("Application", approve.id), "d": "APPROVED", "c": None}))
        # and 50 mixed decisions of the second (approve, reject, request changes)
        kinds = ["APPROVED", "REJECTED", "CHANGES_REQUESTED"]
        mixed_results = await flows.burst(50, lambda i: admin.payload(
            flows.DECIDE, {"id": flows.gid("Application", mixed.id), "d": kinds[i % 3], "c": f"reason {i}"}))
        figures = await flows.outbox_drained(smtp)
        pids = flows.worker_pids(server)
    # then exactly one decision was taken, with one DECIDED event and one email
    outcomes = Counter(outcome(r) for r in results)
    assert outcomes == {"ok": 1, "INVALID_STATUS": 49}, outcomes
    row = await Application.get(id=approve.id)
    assert row.status == ApplicationStatus.APPROVED and row.decided_at is not None
    decided = await ApplicationEvent.filter(application_id=approve.id, kind=ApplicationEventKind.DECIDED)
    assert len(decided) == 1 and decided[0].to_status == ApplicationStatus.APPROVED
    rows = await EmailMessage.filter(application_id=approve.id, kind="application_approved").count()
    assert rows == 1
    # (by recipient: the second application's decision may be an approval too)
    approved_mail = [m for m in smtp.messages if m.rcpt_tos == [world.users[0].email]]
    assert len(approved_mail) == 1 and "is approved" in approved_mail[0].subject

    mixed_outcomes = Counter(outcome(r) for r in mixed_results)
    assert mixed_outcomes == {"ok": 1, "INVALID_STATUS": 49}, mixed_outcomes
    winner = next(kinds[i % 3] for i, r in enumerate(mixed_results) if outcome(r) == "ok")
    row2 = await Application.get(id=mixed.id)
    assert row2.status == ApplicationStatus(winner) and row2.last_decision.value == winner
    events2 = await ApplicationEvent.filter(application_id=mixed.id, kind=ApplicationEventKind.DECIDED)
    assert [e.data["decision"] for e in events2] == [winner]
    winner_index = next(i for i, r in enumerate(mixed_results) if outcome(r) == "ok")
    assert row2.decision_comment == f"reason {winner_index}"
    kinds2 = await EmailMessage.filter(application_id=mixed.id).values_list("kind", flat=True)
    assert kinds2 == [f"application_{winner.lower()}"]
    assert [m.rcpt_tos for m in smtp.messages if m.rcpt_tos == [world.users[1].email]] == [[world.users[1].email]]
    assert figures["received"] == 2 and figures["duplicates"] == 0 and figures["sent"] == 2, figures
    assert len(pids) == 2, pids
    detail = Counter(flows.outcome_detail(r) for r in results + mixed_results)
    print(f"\ndecide x50: {outcomes['ok']} decided, {outcomes['INVALID_STATUS']} INVALID_STATUS, "
          f"events {len(decided)}, email rows {rows}, received {len(approved_mail)}; "
          f"mixed x50: {mixed_outcomes['ok']} decided ({winner}), {mixed_outcomes['INVALID_STATUS']} INVALID_STATUS, "
          f"email rows {len(kinds2)}; smtp received {figures['received']}, duplicates {figures['duplicates']}; "
          f"workers {len(pids)}; losers of both bursts: {detail['INVALID_STATUS/race']} at the version check, "
          f"{detail['INVALID_STATUS/status']} at the status read")


async def test_simultaneous_allocation_sets_never_mix(db, smtp, tmp_path):
    # given a NOT_SUBMITTED application and four certified staff
    world = await flows.ready_world(1, staff=4)
    app = world.apps[0]
    s = [p.id for p in world.staff]
    sets = [
        [("ACCOUNT_MANAGER", s[0])],
        [("ACCOUNT_MANAGER", s[1]), ("SALES_ENGINEER", s[2])],
        [("ACCOUNT_MANAGER", s[0]), ("SALES_ENGINEER", s[0]), ("FIELD_ENGINEER", s[1])],
        [("FIELD_ENGINEER", s[3])],
        [("ACCOUNT_MANAGER", s[2]), ("SALES_ENGINEER", s[3]), ("FIELD_ENGINEER", s[2])],
    ]
    as_sets = [frozenset(x) for x in sets]
    totals: Counter[str] = Counter()
    seen: Counter[int] = Counter()
    details: Counter[str] = Counter()
    rounds, copies = 6, 3
    async with _server(db, smtp, tmp_path) as server:
        partner = Gql(server.url, world.tokens[0])
        for round_ in range(rounds):
            # when the five sets, each three times, are saved at once (in a different order
            # each round)
            order = [i % len(sets) for i in range(len(sets) * copies)]
            random.Random(round_).shuffle(order)
            results = await flows.burst(len(order), lambda i: partner.payload(
                flows.SAVE, {"id": flows.gid("Application", app.id), "a": flows.as_input(sets[order[i]])}))
            totals.update(outcome(r) for r in results)
            details.update(flows.outcome_detail(r) for r in results)
            # then the saved set is exactly one of them, the one the last save event names
            saved = frozenset(await JobAllocation.filter(application_id=app.id).values_list("role_code", "user_id"))
            count = await JobAllocation.filter(application_id=app.id).count()
            assert saved in as_sets and count == len(saved), (saved, count)
            last = await ApplicationEvent.filter(
                application_id=app.id, kind=ApplicationEventKind.JOB_ALLOCATIONS_SAVED).order_by("-id").first()
            assert last is not None
            assert frozenset((r, u) for r, u in last.data["allocations"]) == saved
            seen[as_sets.index(saved)] += 1
    events = await ApplicationEvent.filter(application_id=app.id,
                                           kind=ApplicationEventKind.JOB_ALLOCATIONS_SAVED).count()
    assert set(totals) <= {"ok", "INVALID_STATUS"}, totals
    assert totals["ok"] >= rounds and events == totals["ok"], (totals, events)
    row = await Application.get(id=app.id)
    assert row.version == 1 + totals["ok"]
    print(f"\nallocations {rounds}x{len(sets) * copies}: {totals['ok']} saved, "
          f"{totals['INVALID_STATUS']} INVALID_STATUS ({details['INVALID_STATUS/race']} at the version check), save events {events}, mixed sets 0, "
          f"final sets by index {dict(sorted(seen.items()))}")


async def test_twenty_simultaneous_submissions_submit_once(db, smtp, tmp_path):
    world = await flows.ready_world(1)
    app = world.apps[0]
    async with _server(db, smtp, tmp_path) as server:
        partner = Gql(server.url, world.tokens[0])
        results = await flows.burst(20, lambda i: partner.payload(
            flows.SUBMIT, {"id": flows.gid("Application", app.id)}))
        figures = await flows.outbox_drained(smtp)
    outcomes = Counter(outcome(r) for r in results)
    assert outcomes == {"ok": 1, "INVALID_STATUS": 19}, outcomes
    row = await Application.get(id=app.id)
    assert row.status == ApplicationStatus.SUBMITTED and row.submitted_at and row.review_due_on
    submitted = await ApplicationEvent.filter(application_id=app.id, kind=ApplicationEventKind.SUBMITTED).count()
    assert submitted == 1
    kinds = sorted(await EmailMessage.filter(application_id=app.id).values_list("kind", flat=True))
    assert kinds == ["application_submitted", "application_submitted_admin"]
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted([world.users[0].email, world.admin_email])
    assert figures["duplicates"] == 0 and figures["received"] == 2, figures
    detail = Counter(flows.outcome_detail(r) for r in results)
    print(f"\nsubmit x20: {outcomes['ok']} submitted, {outcomes['INVALID_STATUS']} INVALID_STATUS "
          f"({detail['INVALID_STATUS/race']} at the version check), "
          f"SUBMITTED events {submitted}, email rows {len(kinds)}, received {figures['received']}, "
          f"duplicates {figures['duplicates']}")


async def test_simultaneous_invitations_open_one_application_per_location(db, smtp, tmp_path):
    # given a partner with three locations and two users who act for all of them
    await flows.sync()
    program = await Program.get(code=flows.PROGRAM)
    admin = await testing.make_user("ada", role=UserRole.ADMIN, password=testing.ADMIN_PASSWORD,
                                    email_address="ada@cisco.example")
    partner = await testing.make_partner("Equant")
    locations = [await testing.make_location(partner, f"Equant {c}", c) for c in ("AT", "CN", "DE")]
    users = [await testing.make_user(f"li{i}", partner=partner, password=testing.PARTNER_PASSWORD,
                                     acts_for=locations) for i in range(2)]
    token = await flows.session_token(admin)
    async with _server(db, smtp, tmp_path) as server:
        gql = Gql(server.url, token)
        variables = {"p": flows.gid("Program", program.id), "partner": flows.gid("Partner", partner.id),
                     "users": [flows.gid("User", u.id) for u in users]}
        # when ten sends of the same invitation arrive at once
        results = await flows.burst(10, lambda i: gql.payload(flows.SEND, variables))
        figures = await flows.outbox_drained(smtp)
    outcomes = Counter(outcome(r) for r in results)
    ok = [r for r in results if outcome(r) == "ok"]
    # then there is one application per program and location, whatever the outcome
    apps = await Application.filter(program_id=program.id).order_by("location_id")
    assert [a.location_id for a in apps] == [loc.id for loc in locations]
    assert all(a.status == ApplicationStatus.IN_PROGRESS for a in apps)
    # every successful send is whole (its invitation, its three links to applications, its two
    # links and emails) and a refused one left nothing behind
    invitations = await Invitation.filter(program_id=program.id).count()
    assert invitations == len(ok) >= 1
    for r in ok:
        inv_id = flows.ids.decode(r["invitation"]["id"], "Invitation")
        assert await InvitationApplication.filter(invitation_id=inv_id).count() == 3
        assert await InvitationLink.filter(invitation_id=inv_id).count() == 2
        assert await EmailMessage.filter(invitation_id=inv_id).count() == 2
        assert sorted(a["id"] for a in r["invitation"]["applications"]) == sorted(
            flows.gid("Application", a.id) for a in apps)
    assert set(outcomes) <= {"ok", "INVALID_STATUS"}, outcomes
    for a in apps:
        invited = await ApplicationEvent.filter(application_id=a.id, kind=ApplicationEventKind.INVITED).count()
        assert invited == len(ok)
        assert a.version == len(ok)  # created at 1, one bump per later send
    assert figures["received"] == figures["sent"] == 2 * len(ok) and figures["duplicates"] == 0, figures
    print(f"\ninvitationSend x10: {len(ok)} sent, {outcomes.get('INVALID_STATUS', 0)} INVALID_STATUS, "
          f"applications {len(apps)} for {len(locations)} locations, invitations {invitations}, "
          f"emails {figures['received']}, duplicates {figures['duplicates']}")


async def test_simultaneous_first_use_of_a_link_sets_one_password(db, smtp, tmp_path):
    # given users without a password, each with an invitation link
    await flows.sync()
    program = await Program.get(code=flows.PROGRAM)
    admin = await testing.make_user("ada", role=UserRole.ADMIN, password=testing.ADMIN_PASSWORD)
    partner = await testing.make_partner("Equant")
    loc = await testing.make_location(partner, "Equant AT", "AT")
    await testing.make_user("has.password", partner=partner, password=testing.PARTNER_PASSWORD, acts_for=[loc])
    now = datetime.now(timezone.utc)
    invitation = await Invitation.create(program=program, partner=partner, invited_by=admin, sent_at=now,
                                         expires_at=now + timedelta(days=30))
    pairs = 4
    newcomers: list[tuple[User, str]] = []
    for i in range(pairs + 1):
        user = await testing.make_user(f"new{i}", partner=partner, acts_for=[loc])
        token = new_token()
        await InvitationLink.create(invitation=invitation, user=user, token_hash=token_hash(token),
                                    expires_at=now + timedelta(days=30))
        newcomers.append((user, token))
    # the losers' wrong passwords count as failed logins: this test is about the race, so the
    # guessing limits (and their slow-down) stay out of its way
    async with _server(db, smtp, tmp_path, login_slowdown_after="1000",
                       login_max_failures_per_address="1000") as server:
        anonymous = Gql(server.url)
        # when each link is used twice at once, with two different passwords
        different = await asyncio.gather(*(
            asyncio.gather(*(anonymous.payload(flows.ACCEPT_INVITATION, {"t": tok, "p": f"password-{user.id}-{k}"})
                             for k in ("a", "b")))
            for user, tok in newcomers[:pairs]))
        # and the last link twice with the same password
        user_same, tok_same = newcomers[pairs]
        same = await asyncio.gather(*(anonymous.payload(flows.ACCEPT_INVITATION, {"t": tok_same, "p": "same-password-1"})
                                      for _ in range(2)))
        # then only the winner's password logs in
        logins = []
        for (user, _), pair in zip(newcomers[:pairs], different):
            works = [outcome(await anonymous.payload(flows.LOGIN, {"u": user.username, "p": f"password-{user.id}-{k}"}))
                     for k in ("a", "b")]
            logins.append(works)
        same_login = outcome(await anonymous.payload(flows.LOGIN, {"u": user_same.username, "p": "same-password-1"}))
    winners = 0
    for (user, _), pair, works in zip(newcomers[:pairs], different, logins):
        outcomes = [outcome(r) for r in pair]
        assert sorted(outcomes) == ["INVALID", "ok"], outcomes
        assert works == outcomes, (works, outcomes)  # the one that set it is the one that logs in
        assert [bool(r["token"]) for r in pair] == [o == "ok" for o in outcomes]
        # one session from the link (plus the login's)
        assert await Session.filter(user_id=user.id).count() == 2
        winners += 1
    assert [outcome(r) for r in same] == ["ok", "ok"] and same_login == "ok"
    assert (await User.get(id=user_same.id)).password_hash is not None
    print(f"\ninvitationAccept x2 on {pairs} links, different passwords: {winners} links with exactly one "
          f"password set ({winners} ok, {winners} INVALID), only the winner's password logs in; "
          f"same password x2: both ok")
