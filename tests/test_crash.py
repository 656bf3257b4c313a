"""Crash safety: SIGKILL `smbselect serve` in the middle of a stream of steps (hardening item 7).

A stream of allocation saves, submissions and decisions runs as asyncio tasks over HTTP;
the server process is killed (SIGKILL, no shutdown of any kind) half-way. Every step is one
transaction, so what the crash leaves must be consistent application by application: the
status agrees with the last status-changing event, a SUBMITTED one has its submission, a
decided one its decision, the allocations are one whole saved set, each step bumped
``version`` exactly once and queued its emails. A new server on the same database then
drains the outbox and the observers' feed.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from smbselect import testing
from smbselect.db.enums import ApplicationEventKind, ApplicationStatus, EmailStatus
from smbselect.db.models import Application, ApplicationEvent, EmailMessage, JobAllocation

import flows
from flows import Gql, outcome

S = ApplicationStatus
DECIDED = {S.APPROVED, S.REJECTED, S.CHANGES_REQUESTED}
DECISIONS = ["APPROVED", "REJECTED", "CHANGES_REQUESTED"]

# An observer that takes its time and notes every event it receives, so the feed lags
# behind the steps when the process dies (and a redelivery shows in its log).
OBSERVER = """
import asyncio, os
from smbselect.plugins.hookspecs import hookimpl

@hookimpl
async def smbselect_event(event):
    await asyncio.sleep(0.08)
    with open(os.environ["CRASH_OBSERVER_LOG"], "a") as log:
        log.write(f"{event['id']}\\n")
"""


@dataclass
class SlowSmtp(testing.SmtpCatcher):
    """An SMTP server that takes a moment per message, so the outbox lags behind too."""

    delay: float = 0.03

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


async def consistency(world: flows.World, setup_last_event: int) -> Counter[str]:
    """Check every application against its events, allocations and emails; the statuses."""
    statuses: Counter[str] = Counter()
    for i, app in enumerate(world.apps):
        row = await Application.get(id=app.id)
        events = await ApplicationEvent.filter(application_id=app.id).order_by("id")
        written = [e for e in events if e.id > setup_last_event]  # by the server
        where = f"application {i} ({row.status.value}, events {[e.kind.value for e in events]})"
        # the status is the one the last status-changing event led to
        changes = [e for e in events if e.to_status is not None]
        assert changes and changes[-1].to_status == row.status, where
        # every step bumped the version exactly once with its event: nothing half-written
        assert row.version == 1 + len(written), (where, row.version)
        if row.status == S.SUBMITTED:
            assert row.submitted_at is not None and row.review_due_on is not None, where
            assert events[-1].kind == ApplicationEventKind.SUBMITTED, where
        if row.status in DECIDED:
            assert row.decided_at is not None and row.last_decision is not None, where
            assert row.last_decision.value == row.status.value, where
            last = events[-1]
            assert last.kind == ApplicationEventKind.DECIDED and last.data["decision"] == row.status.value, where
        # the allocations are one whole set: the last one saved (or the initial one)
        saved = frozenset(await JobAllocation.filter(application_id=app.id).values_list("role_code", "user_id"))
        saves = [e for e in events if e.kind == ApplicationEventKind.JOB_ALLOCATIONS_SAVED]
        expected = frozenset(map(tuple, saves[-1].data["allocations"])) if saves else frozenset(
            flows.full_set(world, i))
        assert saved == expected, (where, saved, expected)
        # each submission and decision the server wrote has its emails
        kinds = Counter(await EmailMessage.filter(application_id=app.id).values_list("kind", flat=True))
        wanted: Counter[str] = Counter()
        for e in written:
            if e.kind == ApplicationEventKind.SUBMITTED:
                wanted.update(["application_submitted", "application_submitted_admin"])
            elif e.kind == ApplicationEventKind.DECIDED:
                wanted.update([f"application_{e.data['decision'].lower()}"])
        assert kinds == wanted, (where, kinds, wanted)
        statuses[row.status.value] += 1
    return statuses


async def test_a_killed_server_leaves_every_application_whole(db, tmp_path):
    smtp = SlowSmtp()
    smtp.start()
    try:
        await _crash_and_recover(db, smtp, tmp_path)
    finally:
        smtp.stop()


async def _crash_and_recover(db: str, smtp: SlowSmtp, tmp_path: Path) -> None:
    # given 60 applications: even ones NOT_SUBMITTED, odd ones SUBMITTED (with their history)
    n = 60
    world = await flows.ready_world(
        n, staff=3, initial_events=True,
        status=lambda i: S.NOT_SUBMITTED if i % 2 == 0 else S.SUBMITTED)
    setup_last_event = max(await ApplicationEvent.all().values_list("id", flat=True))
    await ApplicationEvent.all().update(observed_at=datetime.now(timezone.utc))  # the setup's: seen
    (tmp_path / "crash_observer.py").write_text(OBSERVER)
    observer_log = tmp_path / "observed.log"
    env = flows.server_env(db, smtp, tmp_path, plugins="crash_observer")
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    env["CRASH_OBSERVER_LOG"] = str(observer_log)
    done: Counter[str] = Counter()
    steps_total = sum(3 if i % 2 == 0 else 1 for i in range(n))
    kill_after = steps_total // 2
    halfway = asyncio.Event()

    async def step(gql: Gql, query: str, variables: dict[str, Any]) -> bool:
        """One request; False when the crash cut it (its outcome is unknown)."""
        try:
            result = outcome(await gql.payload(query, variables))
        except (httpx.HTTPError, AssertionError):
            done["cut"] += 1
            return False
        done[result] += 1
        if sum(v for k, v in done.items() if k != "cut") >= kill_after:
            halfway.set()
        return True

    async def stream(server: testing.ServerProcess, gate: asyncio.Semaphore, i: int) -> None:
        partner, admin = Gql(server.url, world.tokens[i]), Gql(server.url, world.admin_token)
        app_id = flows.gid("Application", world.apps[i].id)
        decision = {"id": app_id, "d": DECISIONS[i % 3], "c": None if i % 3 == 0 else f"because {i}"}
        async with gate:
            if i % 2 == 0:
                if not await step(partner, flows.SAVE, {"id": app_id, "a": flows.as_input(flows.full_set(world, i + 1))}):
                    return
                if not await step(partner, flows.SUBMIT, {"id": app_id}):
                    return
            await step(admin, flows.DECIDE, decision)

    server = testing.ServerProcess(env, cwd=str(tmp_path))
    async with server:
        gate = asyncio.Semaphore(8)
        # interleave the streams so submissions and decisions run side by side
        order = [i for pair in zip(range(0, n, 2), range(1, n, 2)) for i in pair]
        tasks = [asyncio.create_task(stream(server, gate, i)) for i in order]
        await asyncio.wait_for(halfway.wait(), 60)
        # when the process is killed in the middle of it
        server.process.kill()
        server.process.wait(timeout=10)
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    before = {k: v for k, v in done.items()}
    assert not flows.server_problems(server), flows.server_problems(server)[:20]
    # then the database holds whole steps only
    t0 = time.monotonic()
    at_crash = await consistency(world, setup_last_event)
    mail_at_crash = Counter(await EmailMessage.all().values_list("status", flat=True))
    leased = await EmailMessage.filter(status=EmailStatus.QUEUED, claimed_until__isnull=False).count()
    unobserved_at_crash = await ApplicationEvent.filter(observed_at=None).count()
    # the killed process cannot send what it claimed: its leases run out (2 minutes, made
    # "now" here) and a new server on the same database delivers everything
    await EmailMessage.filter(status=EmailStatus.QUEUED, claimed_until__isnull=False).update(claimed_until=None)
    async with testing.ServerProcess(env, cwd=str(tmp_path)) as again:
        figures = await flows.outbox_drained(smtp, timeout=60)
        observed = await flows.wait_until(_count_unobserved_is_zero, 30)
        # and the applications left SUBMITTED can still be decided
        admin = Gql(again.url, world.admin_token)
        left = [i for i, a in enumerate(world.apps)
                if (await Application.get(id=a.id)).status == S.SUBMITTED]
        finished = Counter(await flows.burst(len(left), lambda k: _decide(admin, world, left[k])))
        figures_end = await flows.outbox_drained(smtp, timeout=60)
        observed_end = await flows.wait_until(_count_unobserved_is_zero, 30)
    assert not flows.server_problems(again), flows.server_problems(again)[:20]
    at_end = await consistency(world, setup_last_event)
    server_events = await ApplicationEvent.filter(id__gt=setup_last_event).values_list("id", flat=True)
    delivered = Counter(int(line) for line in observer_log.read_text().split())
    assert set(delivered) == set(server_events), "an event was never delivered to the observer"
    redelivered = sum(c - 1 for c in delivered.values())
    assert redelivered <= 1  # at most the one being delivered when the process died
    assert before.get("cut", 0) >= 1, before  # the crash did cut requests
    assert figures["queued"] == 0 and figures["failed"] == 0 and figures["lost"] == 0, figures
    assert figures["duplicates"] <= leased, (figures, leased)  # at-least-once: only a claimed one can repeat
    assert observed and observed_end
    assert finished == {"ok": len(left)}, finished
    assert figures_end["queued"] == 0 and figures_end["sent"] == sum(mail_at_crash.values()) + len(left)
    assert at_end.get("SUBMITTED", 0) == 0 and sum(at_end.values()) == n
    print(f"\ncrash: {steps_total} steps planned, killed after {kill_after} answered; answered "
          f"{ {k: v for k, v in before.items() if k != 'cut'} }, cut {before.get('cut', 0)}; statuses at crash "
          f"{dict(at_crash)} all consistent; emails at crash {dict((k.value, v) for k, v in mail_at_crash.items())}, "
          f"{leased} leased by the dead process, events unobserved {unobserved_at_crash}; after restart: sent "
          f"{figures['sent']}, received {figures['received']}, duplicates {figures['duplicates']}, lost "
          f"{figures['lost']}, feed drained {observed} ({len(server_events)} events, {redelivered} delivered twice); then {len(left)} left SUBMITTED decided, final "
          f"{dict(at_end)}, emails sent {figures_end['sent']}, received {figures_end['received']}, "
          f"duplicates {figures_end['duplicates']}; checks+restart {time.monotonic() - t0:.1f}s")


async def _count_unobserved_is_zero() -> bool:
    return await ApplicationEvent.filter(observed_at=None).count() == 0


async def _decide(admin: Gql, world: flows.World, i: int) -> str:
    return outcome(await admin.payload(flows.DECIDE, {
        "id": flows.gid("Application", world.apps[i].id), "d": "REJECTED", "c": "after the crash"}))
