"""The outbox under SMTP faults, against `smbselect serve` (hardening item 6).

An outage never fails a business step and loses no email; a 4xx answer is retried (and
given up after SMBSELECT_MAIL_MAX_ATTEMPTS); a 5xx answer fails the email after one try,
and ``emailRetry`` sends it again; a person's or a location's name cannot add a header.
The relay's backoff is skipped by moving ``next_attempt_at`` into the past with the ORM.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

from smbselect import testing
from smbselect.db.enums import EmailStatus
from smbselect.db.models import EmailMessage

import flows
from flows import Gql, outcome


def _server(db, smtp, tmp_path, workers: int = 1, **settings: str) -> testing.ServerProcess:  # type: ignore[no-untyped-def]
    return testing.ServerProcess(flows.server_env(db, smtp, tmp_path, **settings), cwd=str(tmp_path),
                                 workers=workers)


async def _due_now() -> int:
    """Skip the backoff: every QUEUED email is due now."""
    past = datetime.now(timezone.utc) - timedelta(seconds=1)
    return await EmailMessage.filter(status=EmailStatus.QUEUED).update(next_attempt_at=past)


async def _emails() -> list[EmailMessage]:
    return await EmailMessage.all().order_by("id")


async def _submit_all(server: testing.ServerProcess, world: flows.World, at_once: int = 20) -> Counter[str]:
    gate = asyncio.Semaphore(at_once)

    async def one(i: int) -> str:
        async with gate:
            return outcome(await Gql(server.url, world.tokens[i]).payload(
                flows.SUBMIT, {"id": flows.gid("Application", world.apps[i].id)}))

    return Counter(await flows.burst(len(world.apps), one))


async def test_an_outage_loses_no_email(db, smtp, tmp_path):
    # given 100 applications ready to submit, and the SMTP server down
    n = 100
    t0 = time.monotonic()
    world = await flows.ready_world(n)
    smtp.stop()
    t_setup = time.monotonic() - t0
    async with _server(db, smtp, tmp_path, workers=2) as server:
        # when all of them are submitted over HTTP
        t0 = time.monotonic()
        outcomes = await _submit_all(server, world)
        t_submit = time.monotonic() - t0
        # then every submission succeeded and every email waits in the outbox
        assert outcomes == {"ok": n}, outcomes
        await asyncio.sleep(1.0)  # both relays try (and fail) meanwhile
        # (one snapshot: the relays go on trying while the test counts)
        snapshot = await _emails()
        during = Counter(e.status for e in snapshot)
        tried = sum(1 for e in snapshot if e.attempts > 0)
        refused = sum(1 for e in snapshot if e.last_error is not None)
        assert during == {EmailStatus.QUEUED: 2 * n}, during
        assert tried >= 1 and refused == tried
        # when the SMTP server is back (same port) and the backoff is over
        smtp.start()
        await _due_now()
        t0 = time.monotonic()
        figures = await flows.outbox_drained(smtp, timeout=60)
        t_drain = time.monotonic() - t0
    assert not flows.server_problems(server), flows.server_problems(server)[:20]  # deferrals are warnings
    # then every email arrived exactly once: one per partner user, one per submission to the admin
    recipients = flows.per_recipient(smtp)
    assert figures["sent"] == figures["received"] == 2 * n, figures
    assert figures["duplicates"] == figures["lost"] == figures["unknown"] == 0, figures
    assert recipients[world.admin_email] == n
    assert all(recipients[u.email] == 1 for u in world.users), recipients
    per_person = Counter(recipients[u.email] for u in world.users)
    print(f"\noutage: {outcomes['ok']}/{n} submissions ok with SMTP down, {during[EmailStatus.QUEUED]} queued, "
          f"{tried} tried and deferred during the outage; after restart: sent {figures['sent']}, "
          f"received {figures['received']}, lost {figures['lost']}, duplicates {figures['duplicates']}, "
          f"admin got {recipients[world.admin_email]}, partner users got {dict(per_person)} (count: users); "
          f"setup {t_setup:.1f}s, submissions {t_submit:.1f}s, drain {t_drain:.1f}s (incl. 0.6s grace)")


async def test_a_4xx_answer_is_retried_and_given_up_after_the_last_attempt(db, smtp, tmp_path):
    world = await flows.ready_world(2)
    smtp.reply = "451 try later"
    async with _server(db, smtp, tmp_path, mail_max_attempts="3") as server:
        first = outcome(await Gql(server.url, world.tokens[0]).payload(
            flows.SUBMIT, {"id": flows.gid("Application", world.apps[0].id)}))
        assert first == "ok"

        async def all_at(attempts: int, status: EmailStatus) -> bool:
            rows = await _emails()
            return bool(rows) and all(e.attempts >= attempts and e.status == status for e in rows)

        # then the emails are deferred, not failed, and tried again
        assert await flows.wait_until(lambda: all_at(1, EmailStatus.QUEUED), 10)
        assert all("451" in (e.last_error or "") for e in await _emails())
        await _due_now()
        assert await flows.wait_until(lambda: all_at(2, EmailStatus.QUEUED), 10)
        # when the server takes mail again, the third try delivers them
        smtp.reply = None
        await _due_now()
        assert await flows.wait_until(lambda: all_at(3, EmailStatus.SENT), 10)
        retried = await _emails()
        # when the second application's emails meet only 451s, the third try is the last
        smtp.reply = "451 try later"
        second = outcome(await Gql(server.url, world.tokens[1]).payload(
            flows.SUBMIT, {"id": flows.gid("Application", world.apps[1].id)}))
        assert second == "ok"
        for _ in range(3):
            await asyncio.sleep(0.5)
            await _due_now()

        async def given_up() -> bool:
            rows = (await _emails())[2:]
            return len(rows) == 2 and all(e.status == EmailStatus.FAILED for e in rows)

        assert await flows.wait_until(given_up, 15)
        await asyncio.sleep(0.6)
        figures = await flows.mail_figures(smtp)
    failed = (await _emails())[2:]
    assert [e.attempts for e in retried] == [3, 3] and [e.attempts for e in failed] == [3, 3]
    assert figures["received"] == 2 and figures["duplicates"] == 0 and figures["failed"] == 2, figures
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted([world.users[0].email, world.admin_email])
    print(f"\n451: 2 emails deferred twice then sent on attempt 3; 2 more FAILED after "
          f"{failed[0].attempts} attempts (max 3); received {figures['received']}, duplicates {figures['duplicates']}")


async def test_a_5xx_answer_fails_after_one_try_and_email_retry_sends_it(db, smtp, tmp_path):
    world = await flows.ready_world(1)
    smtp.reply = "550 no"
    async with _server(db, smtp, tmp_path) as server:
        assert outcome(await Gql(server.url, world.tokens[0]).payload(
            flows.SUBMIT, {"id": flows.gid("Application", world.apps[0].id)})) == "ok"

        async def failed() -> bool:
            rows = await _emails()
            return len(rows) == 2 and all(e.status == EmailStatus.FAILED for e in rows)

        assert await flows.wait_until(failed, 10)
        await asyncio.sleep(1.0)  # nothing tries it again by itself
        rows = await _emails()
        assert [e.attempts for e in rows] == [1, 1] and all("550" in (e.last_error or "") for e in rows)
        assert smtp.messages == []
        # when the admin sends them again (the server accepts mail now)
        smtp.reply = None
        admin = Gql(server.url, world.admin_token)
        retried = [await admin.payload(flows.EMAIL_RETRY, {"id": flows.gid("EmailMessage", e.id)}) for e in rows]
        assert [(outcome(r), r["email"]["status"]) for r in retried] == [("ok", "QUEUED")] * 2
        figures = await flows.outbox_drained(smtp)
        # and a sent email cannot be "retried"
        again = await admin.payload(flows.EMAIL_RETRY, {"id": flows.gid("EmailMessage", rows[0].id)})
    assert outcome(again) == "INVALID_STATUS"
    after = await _emails()
    assert [e.status for e in after] == [EmailStatus.SENT] * 2 and [e.attempts for e in after] == [1, 1]
    assert figures["received"] == 2 and figures["duplicates"] == 0, figures
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted([world.users[0].email, world.admin_email])
    print(f"\n550: 2 emails FAILED after 1 attempt each, emailRetry x2 -> SENT, received {figures['received']}, "
          f"duplicates {figures['duplicates']}, retry of a SENT email: {outcome(again)}")


async def test_a_line_break_in_a_name_adds_no_header(db, smtp, tmp_path):
    # given a partner user and a location whose names try to add a Bcc header
    evil_user = "Evil\r\nBcc: x@evil.example"
    evil_location = "Equant\r\nBcc: y@evil.example\r\n\r\nbody"
    world = await flows.ready_world(1, user_name=lambda i: evil_user, location_name=lambda i: evil_location)
    user = world.users[0]
    async with _server(db, smtp, tmp_path) as server:
        admin = Gql(server.url, world.admin_token)
        # when the admin invites the user (the email greets them by name) and they submit
        sent = await admin.payload(flows.SEND, {
            "p": flows.gid("Program", world.program.id), "partner": flows.gid("Partner", world.partner.id),
            "users": [flows.gid("User", user.id)]})
        assert outcome(sent) == "ok"
        assert outcome(await Gql(server.url, world.tokens[0]).payload(
            flows.SUBMIT, {"id": flows.gid("Application", world.apps[0].id)})) == "ok"
        figures = await flows.outbox_drained(smtp)
    assert not flows.server_problems(server), flows.server_problems(server)[:20]
    # then three emails arrived, to exactly the right people, and none has a Bcc header
    assert figures["received"] == 3 and figures["duplicates"] == 0, figures
    assert sorted(tuple(m.rcpt_tos) for m in smtp.messages) == sorted(
        [(user.email,), (user.email,), (world.admin_email,)])
    for mail in smtp.messages:
        headers = [k.lower() for k in mail.message.keys()]
        assert "bcc" not in headers and headers.count("to") == 1, headers
        assert all("evil.example" not in str(v) for k, v in mail.message.items() if k.lower() != "subject")
        assert "\n" not in str(mail.message["Subject"]) and "\r" not in str(mail.message["Subject"])
        assert not any("evil" in r for r in mail.rcpt_tos)
    with_location = [m for m in smtp.messages if "Equant Bcc: y@evil.example body" in m.subject]
    greeted = [m for m in smtp.messages if "Evil" in m.text]
    assert len(with_location) == 2 and greeted  # the names are there, harmlessly, on one line
    print(f"\nheader injection: {figures['received']} emails, recipients exact, Bcc headers 0, "
          f"subjects with the location name on one line {len(with_location)}, bodies naming the user {len(greeted)}")
