"""The outbox relay: delivers queued emails after commit, retries, never sends one twice.

Every process may run a relay (``MailRelay.run``); they coordinate through the database
only. A relay claims one row at a time with a conditional UPDATE (``claimed_until`` set
only if still free), which is atomic on SQLite and PostgreSQL alike, where
``select_for_update`` would do nothing on SQLite. A claim is a lease: if a process dies
mid-send, the row becomes claimable again when the lease runs out (at-least-once then,
which is the best SMTP allows).

Failures are split by whose fault they are:

- the message's (a 5xx reply to its recipients or its data) -> FAILED after one try;
- the way there (a 4xx reply, a refused connection, a timeout, our credentials) -> retried
  with exponential backoff until ``mail_max_attempts``, then FAILED. An admin can put a
  FAILED email back with :meth:`MailRelay.retry_email`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, parseaddr
from typing import Any

import aiosmtplib
from tortoise.expressions import Q

from smbselect.db.enums import EmailStatus
from smbselect.db.models import EmailMessage
from smbselect.mail.outbox import utcnow
from smbselect.mail.render import header_safe
from smbselect.settings import Settings

logger = logging.getLogger("smbselect.mail")

SMTP_TIMEOUT = 10.0  # per SMTP command (connect, EHLO, DATA, ...)
SEND_DEADLINE = 60.0  # the whole conversation, so a trickling server cannot outlive the lease
CLAIM_LEASE = timedelta(minutes=2)  # > SEND_DEADLINE: a live sender never loses its claim
BACKOFF_BASE = 2.0
BACKOFF_CAP = 15 * 60.0
ERROR_MAX = 2000  # last_error is for people, not a log archive


def backoff_seconds(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed try: 2, 4, 8, ... capped at 15 min.

    Jitter (down to 80 %) keeps many emails that failed together during an outage from
    hitting the recovered server in one burst.
    """
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    return delay * random.uniform(0.8, 1.0)


@dataclass(frozen=True)
class _Failure:
    """How one send went wrong: ``permanent`` means retrying cannot help this message."""

    error: str
    permanent: bool
    # The server or the connection is the problem, not this message: stop this drain, the
    # next emails would only fail (or time out) the same way.
    stop_batch: bool = False


def _classify(exc: BaseException) -> _Failure:
    """Sort an exception from building or sending a message into permanent or transient."""
    text = f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        # Every recipient was refused; one 4xx among them is worth another try.
        codes = [r.code for r in exc.recipients]
        return _Failure(text, permanent=bool(codes) and all(code >= 500 for code in codes))
    if isinstance(
        exc,
        (
            aiosmtplib.SMTPAuthenticationError,
            aiosmtplib.SMTPSenderRefused,
            aiosmtplib.SMTPHeloError,
            aiosmtplib.SMTPConnectError,
        ),
    ):
        # Our credentials, our From or the server itself: an operator fixes the setting and
        # every email must still go out then, so these are never the message's fault.
        return _Failure(text, permanent=False, stop_batch=True)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _Failure(text, permanent=exc.code >= 500)
    if isinstance(exc, (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError)):
        return _Failure(text, permanent=False, stop_batch=True)
    # Anything else is a bug or bad data: retry (bounded by mail_max_attempts), keep the error.
    return _Failure(text, permanent=False)


class MailRelay:
    """Sends the outbox with aiosmtplib; one per process, started in the app's lifespan."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._wake = asyncio.Event()
        self._last_logged_id = 0  # development without SMTP: rows up to here were logged
        self._warned_no_host = False

    # --- the loop ---------------------------------------------------------------------

    def wake(self) -> None:
        """Ask the loop to drain now (call after the commit that queued an email).

        Only from the relay's own event loop: asyncio.Event is not thread-safe.
        """
        self._wake.set()

    async def run(self, stop: asyncio.Event, *, limit: int = 50) -> None:
        """Drain every ``mail_poll_seconds`` (or on :meth:`wake`) until ``stop`` is set.

        A full drain is followed by another one at once, so a backlog does not wait for the
        poll. An exception is logged and the loop goes on: a database hiccup must not stop
        email for the life of the process.
        """
        while not stop.is_set():
            self._wake.clear()  # a wake() during the drain below makes the wait return at once
            try:
                handled = await self._drain(limit)
            except Exception:
                logger.exception("mail relay: drain failed")
                handled = 0
            if handled >= limit:
                await asyncio.sleep(0)  # let others run between full batches
                continue
            await self._wait(stop, self.settings.mail_poll_seconds)

    async def _wait(self, stop: asyncio.Event, seconds: float) -> None:
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    # --- one drain --------------------------------------------------------------------

    async def drain_once(self, limit: int = 50) -> int:
        """Try every due email (up to ``limit``) once; return how many were sent."""
        return sum(await self._drain_results(limit))

    async def _drain(self, limit: int) -> int:
        """Like drain_once, but returns how many rows were handled (to detect a full batch)."""
        return len(await self._drain_results(limit))

    async def _drain_results(self, limit: int) -> list[bool]:
        """One outcome per row handled: True sent, False retried later or failed."""
        if not self.settings.smtp_host:
            await self._no_host()
            return []
        now = utcnow()
        due_ids = await (
            EmailMessage.filter(_claimable(now), status=EmailStatus.QUEUED)
            .order_by("next_attempt_at", "id")
            .limit(limit)
            .values_list("id", flat=True)
        )
        results: list[bool] = []
        for email_id in due_ids:
            # Claim one at a time: claiming the whole batch up front could let its tail's
            # lease run out while earlier sends time out, and another relay send it too.
            email = await self._claim(int(email_id))
            if email is None:
                continue  # another relay got it first
            outcome = await self._deliver(email)
            results.append(outcome is None)
            if outcome is not None and outcome.stop_batch:
                break
        return results

    async def _claim(self, email_id: int) -> EmailMessage | None:
        now = utcnow()
        claimed = await EmailMessage.filter(
            _claimable(now), id=email_id, status=EmailStatus.QUEUED
        ).update(claimed_until=now + CLAIM_LEASE)
        if claimed != 1:
            return None
        return await EmailMessage.get_or_none(id=email_id)

    async def _deliver(self, email: EmailMessage) -> _Failure | None:
        """Send one claimed email and record the outcome; None on success."""
        attempts = email.attempts + 1
        try:
            message = build_mime(email, self.settings)
        except Exception as exc:  # a malformed address or header: no retry can fix it
            failure = _Failure(f"{type(exc).__name__}: {exc}"[:ERROR_MAX], permanent=True)
        else:
            try:
                refused = await asyncio.wait_for(self._send(message, email), SEND_DEADLINE)
            except Exception as exc:
                failure = _classify(exc)
            else:
                await EmailMessage.filter(id=email.id).update(
                    status=EmailStatus.SENT,
                    sent_at=utcnow(),
                    attempts=attempts,
                    claimed_until=None,
                    # Some recipients may have been refused while others took it: say so.
                    last_error=refused,
                )
                return None
        await self._record_failure(email, attempts, failure)
        return failure

    async def _record_failure(self, email: EmailMessage, attempts: int, failure: _Failure) -> None:
        give_up = failure.permanent or attempts >= self.settings.mail_max_attempts
        now = utcnow()
        await EmailMessage.filter(id=email.id).update(
            status=EmailStatus.FAILED if give_up else EmailStatus.QUEUED,
            attempts=attempts,
            last_error=failure.error,
            claimed_until=None,
            next_attempt_at=now if give_up else now + timedelta(seconds=backoff_seconds(attempts)),
        )
        log = logger.error if give_up else logger.warning
        log(
            "mail %s to %s %s after attempt %d: %s",
            email.message_id,
            ", ".join(email.to),
            "failed" if give_up else "deferred",
            attempts,
            failure.error,
        )

    async def _send(self, message: MimeMessage, email: EmailMessage) -> str | None:
        """Hand ``message`` to the SMTP server; returns a note on refused recipients, if any."""
        s = self.settings
        errors, _ = await aiosmtplib.send(
            message,
            sender=parseaddr(s.mail_from)[1],
            recipients=[*email.to, *email.cc],
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=s.smtp_password or None,
            use_tls=s.smtp_tls == "tls",
            # False, not None: None means "upgrade if offered", which fails on a server
            # whose certificate does not match when the operator said "none".
            start_tls=s.smtp_tls == "starttls",
            timeout=SMTP_TIMEOUT,
        )
        if not errors:
            return None
        return "refused: " + "; ".join(f"{rcpt}: {resp}" for rcpt, resp in errors.items())

    async def _no_host(self) -> None:
        """No SMTP server configured: keep everything queued; in development, show it."""
        if self.settings.env != "development":
            if not self._warned_no_host:
                logger.warning("no SMTP host configured (SMBSELECT_SMTP_HOST): emails stay queued")
                self._warned_no_host = True
            return
        # Only rows not shown yet: ids grow, so "above the last one logged" is enough here.
        new = await EmailMessage.filter(
            status=EmailStatus.QUEUED, id__gt=self._last_logged_id
        ).order_by("id")
        for email in new:
            logger.info(
                "email not sent (no SMTP host configured)\nTo: %s\nSubject: %s\n\n%s",
                ", ".join([*email.to, *email.cc]),
                email.subject,
                email.body_text,
            )
            self._last_logged_id = email.id

    # --- admin ------------------------------------------------------------------------

    async def retry_email(self, email_id: int, *, using_db: Any = None) -> EmailMessage | None:
        """Put a FAILED email back in the queue with a fresh budget of attempts.

        Conditional, so two admins clicking at once queue it once; returns None when the
        email does not exist or is not FAILED. Inside a transaction (``using_db``), call
        :meth:`wake` after the commit; without one this wakes the relay itself.
        """
        now = utcnow()
        updated = (
            await EmailMessage.filter(id=email_id, status=EmailStatus.FAILED)
            .using_db(using_db)
            .update(status=EmailStatus.QUEUED, attempts=0, next_attempt_at=now, claimed_until=None)
        )
        if updated != 1:
            return None
        if using_db is None:
            self.wake()
        return await EmailMessage.get(id=email_id, using_db=using_db)


def _claimable(now: datetime) -> Q:
    """Due now and not claimed by a live relay."""
    return Q(next_attempt_at__lte=now) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))


def build_mime(email: EmailMessage, settings: Settings) -> MimeMessage:
    """The MIME message for an outbox row: text, plus an HTML alternative when there is one."""
    message = MimeMessage()
    message["From"] = settings.mail_from
    message["To"] = ", ".join(email.to)
    if email.cc:
        message["Cc"] = ", ".join(email.cc)
    # Already clean when queued; cleaned again because a row may have been written by hand.
    message["Subject"] = header_safe(email.subject)
    message["Message-ID"] = email.message_id
    message["Date"] = format_datetime(utcnow())
    message.set_content(email.body_text)
    if email.body_html:
        message.add_alternative(email.body_html, subtype="html")
    return message
