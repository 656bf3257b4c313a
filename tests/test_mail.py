"""Email: templates, the outbox and the relay, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from smbselect.db.enums import EmailStatus
from smbselect.db.models import EmailMessage
from smbselect.mail import MailRelay, queue_email, render_email
from smbselect.mail.relay import BACKOFF_CAP, backoff_seconds
from smbselect.settings import Settings
from smbselect.testing import SmtpCatcher

SUPPORT = "support@smbselect.test"


async def queue(
    settings: Settings, to: str = "ada@example.com", **overrides: object
) -> EmailMessage:
    """A rendered generic email, queued the way a resolver would."""
    rendered = render_email(
        "generic", title="Hello", paragraphs=["First.", "Second."], support_email=SUPPORT
    )
    fields: dict = dict(
        to=[to], subject=rendered.subject, text=rendered.text, html=rendered.html,
        kind="test", settings=settings,
    )
    fields.update(overrides)
    return await queue_email(**fields)


async def make_due(email: EmailMessage) -> None:
    """Skip the backoff wait, as if time had passed."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    await EmailMessage.filter(id=email.id).update(next_attempt_at=past)


# --- templates --------------------------------------------------------------------------


def test_password_reset_renders_link_validity_and_support_address() -> None:
    url = "http://app.test/reset?token=abc&x=1"
    rendered = render_email(
        "password_reset", reset_url=url, valid_minutes=60, support_email=SUPPORT, name="Ada"
    )

    assert rendered.subject == "Reset your SMB Select password"
    assert url in rendered.text
    assert "1 hour" in rendered.text and "did not ask" in rendered.text
    assert 'href="http://app.test/reset?token=abc&amp;x=1"' in rendered.html
    assert SUPPORT in rendered.text and f"mailto:{SUPPORT}" in rendered.html


def test_user_text_is_escaped_in_html_and_kept_in_text() -> None:
    rendered = render_email(
        "generic",
        title="Welcome <b>Equant</b>",
        paragraphs=['<script>alert("x")</script> & Co'],
        name="O'Brien <img src=x>",
        support_email=SUPPORT,
    )

    assert "<script>" not in rendered.html and "<img" not in rendered.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in rendered.html
    assert '<script>alert("x")</script> & Co' in rendered.text
    assert "O'Brien <img src=x>" in rendered.text


def test_subject_is_one_line_and_language_falls_back_to_english() -> None:
    rendered = render_email(
        "generic", "de-CH", title="Hi\r\nBcc: x@evil\u2028\x00!", paragraphs=[],
        support_email=SUPPORT,
    )

    assert rendered.subject == "Hi Bcc: x@evil !"
    assert "Questions? Write to" in rendered.text  # the English layout


def test_a_missing_variable_is_an_error_not_a_blank() -> None:
    with pytest.raises(Exception, match="reset_url"):
        render_email("password_reset", valid_minutes=60, support_email=SUPPORT)


def test_backoff_doubles_from_two_seconds_and_is_capped() -> None:
    assert 1.6 <= backoff_seconds(1) <= 2.0
    assert 3.2 <= backoff_seconds(2) <= 4.0
    assert 0.8 * BACKOFF_CAP <= backoff_seconds(30) <= BACKOFF_CAP


# --- outbox -----------------------------------------------------------------------------


async def test_queue_email_writes_one_clean_queued_row(db: str, settings: Settings) -> None:
    email = await queue(
        settings,
        to=" ada@example.com ",
        cc=["", "ADA@example.com", "bob@example.com", "bob@example.com "],
        subject="Line\r\nBcc: x@evil",
    )

    row = await EmailMessage.get(id=email.id)
    assert row.status == EmailStatus.QUEUED and row.attempts == 0
    assert row.to == ["ada@example.com"] and row.cc == ["bob@example.com"]
    assert row.subject == "Line Bcc: x@evil"
    assert row.message_id.startswith("<") and row.message_id.endswith("@smbselect.test>")
    assert row.queued_at.tzinfo is not None
    assert abs(row.next_attempt_at - datetime.now(UTC)) < timedelta(seconds=30)


@pytest.mark.parametrize("bad", ["ada@example.com\r\nBcc: x@evil", "ada@example.com\n"])
async def test_queue_email_rejects_line_breaks_in_addresses(
    db: str, settings: Settings, bad: str
) -> None:
    with pytest.raises(ValueError):
        await queue(settings, to=bad)
    with pytest.raises(ValueError):
        await queue(settings, cc=[bad])
    assert await EmailMessage.all().count() == 0


async def test_queue_email_needs_a_recipient(db: str, settings: Settings) -> None:
    with pytest.raises(ValueError):
        await queue(settings, to=" ")


async def test_queue_email_joins_the_callers_transaction(db: str, settings: Settings) -> None:
    from tortoise.transactions import in_transaction

    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await queue(settings, using_db=conn)
            raise RuntimeError("the business change failed")

    assert await EmailMessage.all().count() == 0


# --- relay ------------------------------------------------------------------------------


async def test_queued_email_reaches_the_server(
    db: str, smtp: SmtpCatcher, settings: Settings
) -> None:
    email = await queue(settings, cc=["bob@example.com"])

    assert await MailRelay(settings).drain_once() == 1

    [received] = smtp.messages
    assert received.message["Message-ID"] == email.message_id
    assert received.message["From"] == "SMB Select <noreply@smbselect.test>"
    assert received.message["To"] == "ada@example.com"
    assert received.message["Cc"] == "bob@example.com"
    assert received.subject == "Hello"
    assert received.message["Date"]
    assert sorted(received.rcpt_tos) == ["ada@example.com", "bob@example.com"]
    assert received.mail_from == "noreply@smbselect.test"
    assert received.message.get_content_type() == "multipart/alternative"
    assert "First." in received.text and SUPPORT in received.text
    assert "<p>First.</p>" in received.html
    row = await EmailMessage.get(id=email.id)
    assert row.status == EmailStatus.SENT and row.attempts == 1
    assert row.sent_at is not None and row.claimed_until is None


async def test_text_only_email_is_sent_as_plain_text(
    db: str, smtp: SmtpCatcher, settings: Settings
) -> None:
    await queue(settings, html=None, text="Just text.")

    await MailRelay(settings).drain_once()

    [received] = smtp.messages
    assert received.message.get_content_type() == "text/plain"
    assert received.text.strip() == "Just text."


async def test_server_down_keeps_email_queued_then_delivers_it_once(
    db: str, smtp: SmtpCatcher, settings: Settings
) -> None:
    email = await queue(settings)
    relay = MailRelay(settings)
    smtp.stop()

    assert await relay.drain_once() == 0

    row = await EmailMessage.get(id=email.id)
    assert row.status == EmailStatus.QUEUED and row.attempts == 1
    assert row.last_error and row.claimed_until is None
    assert row.next_attempt_at > datetime.now(UTC)
    assert await relay.drain_once() == 0  # not due yet: no second attempt

    smtp.start()
    await make_due(email)
    assert await relay.drain_once() == 1
    assert await relay.drain_once() == 0

    assert [m.message["Message-ID"] for m in smtp.messages] == [email.message_id]
    row = await EmailMessage.get(id=email.id)
    assert row.status == EmailStatus.SENT and row.attempts == 2


async def test_a_4xx_reply_is_retried(db: str, smtp: SmtpCatcher, settings: Settings) -> None:
    email = await queue(settings)
    relay = MailRelay(settings)
    smtp.reply = "451 4.3.0 try again later"

    assert await relay.drain_once() == 0
    row = await EmailMessage.get(id=email.id)
    assert row.status == EmailStatus.QUEUED and row.attempts == 1
    assert "451" in (row.last_error or "")

    smtp.reply = None
    await make_due(email)
    assert await relay.drain_once() == 1
    assert len(smtp.messages) == 1
    assert (await EmailMessage.get(id=email.id)).status == EmailStatus.SENT


async def test_transient_failures_end_in_failed_after_max_attempts(
    db: str, smtp: SmtpCatcher, settings: Settings
) -> None:
    settings = settings.model_copy(update={"mail_max_attempts": 3})
    email = await queue(settings)
    relay = MailRelay(settings)
    smtp.reply = "451 try later"

    for _ in range(3):
        await make_due(email)
        await relay.drain_once()

    row = await EmailMessage.get(id=email.id)
    assert row.status == EmailStatus.FAILED and row.attempts == 3


async def test_a_5xx_reply_fails_at_once_and_an_admin_can_retry(
    db: str, smtp: SmtpCatcher, settings: Settings
) -> None:
    email = await queue(settings)
    relay = MailRelay(settings)
    smtp.reply = "550 5.1.1 no such user"

    assert await relay.drain_once() == 0
    row = await EmailMessage.get(id=email.id)
    assert row.status == EmailStatus.FAILED and row.attempts == 1
    assert "550" in (row.last_error or "")
    await make_due(email)
    assert await relay.drain_once() == 0  # FAILED is not retried by itself

    smtp.reply = None
    retried = await relay.retry_email(email.id)
    assert retried is not None
    assert retried.status == EmailStatus.QUEUED and retried.attempts == 0
    assert await relay.retry_email(email.id) is None  # no longer FAILED
    assert await relay.retry_email(999_999) is None

    assert await relay.drain_once() == 1
    assert [m.message["Message-ID"] for m in smtp.messages] == [email.message_id]
    assert await relay.retry_email(email.id) is None  # SENT


async def test_two_relays_deliver_each_email_exactly_once(
    db: str, smtp: SmtpCatcher, settings: Settings
) -> None:
    emails = [await queue(settings, to=f"user{i}@example.com") for i in range(20)]

    sent = await asyncio.gather(MailRelay(settings).drain_once(), MailRelay(settings).drain_once())

    assert sum(sent) == 20
    received_ids = sorted(str(m.message["Message-ID"]) for m in smtp.messages)
    assert received_ids == sorted(e.message_id for e in emails)
    assert await EmailMessage.filter(status=EmailStatus.SENT, attempts=1).count() == 20


async def test_header_injection_through_subject_or_name_adds_no_header(
    db: str, smtp: SmtpCatcher, settings: Settings
) -> None:
    evil = "Equant\r\nBcc: x@evil.example"
    rendered = render_email(
        "generic", title=f"Welcome {evil}", paragraphs=["Hi"], name=evil, support_email=SUPPORT
    )
    await queue_email(
        to=["ada@example.com"], subject=rendered.subject, text=rendered.text,
        html=rendered.html, kind="test", settings=settings,
    )
    await queue(settings, subject=f"Raw {evil}\nX-Injected: yes")

    assert await MailRelay(settings).drain_once() == 2

    assert len(smtp.messages) == 2
    for received in smtp.messages:
        assert received.message["Bcc"] is None and received.message["X-Injected"] is None
        assert len(received.message.get_all("Subject")) == 1
        assert "\n" not in received.subject and "\r" not in received.subject
        assert received.rcpt_tos == ["ada@example.com"]
    assert {m.subject for m in smtp.messages} == {
        "Welcome Equant Bcc: x@evil.example",
        "Raw Equant Bcc: x@evil.example X-Injected: yes",
    }


async def test_without_smtp_host_emails_stay_queued_and_are_logged_once_in_development(
    db: str, smtp: SmtpCatcher, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings.model_copy(update={"smtp_host": "", "env": "development"})
    email = await queue(settings)
    relay = MailRelay(settings)

    with caplog.at_level(logging.INFO, logger="smbselect.mail"):
        assert await relay.drain_once() == 0
        assert await relay.drain_once() == 0

    logged = [r.getMessage() for r in caplog.records if r.name == "smbselect.mail"]
    assert len(logged) == 1
    assert "ada@example.com" in logged[0] and "Hello" in logged[0] and "First." in logged[0]
    row = await EmailMessage.get(id=email.id)
    assert row.status == EmailStatus.QUEUED and row.attempts == 0
    assert smtp.messages == []


async def test_without_smtp_host_production_neither_sends_nor_logs_the_email(
    db: str, smtp: SmtpCatcher, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings.model_copy(update={"smtp_host": "", "env": "production"})
    email = await queue(settings)

    with caplog.at_level(logging.INFO, logger="smbselect.mail"):
        assert await MailRelay(settings).drain_once() == 0

    assert not any("First." in r.getMessage() for r in caplog.records)
    assert (await EmailMessage.get(id=email.id)).status == EmailStatus.QUEUED
    assert smtp.messages == []


async def test_run_sends_on_wake_and_stops(
    db: str, smtp: SmtpCatcher, settings: Settings
) -> None:
    settings = settings.model_copy(update={"mail_poll_seconds": 60.0})
    relay = MailRelay(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.sleep(0.1)  # the first (empty) drain is done; the loop now waits 60 s
        email = await queue(settings)
        relay.wake()
        await smtp.wait_for(1, timeout=5)
        assert [m.message["Message-ID"] for m in smtp.messages] == [email.message_id]
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)


async def test_run_survives_an_exception(
    db: str, smtp: SmtpCatcher, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    class FlakyRelay(MailRelay):
        failures = 1

        async def _drain(self, limit: int) -> int:
            if self.failures:
                self.failures -= 1
                raise RuntimeError("database went away")
            return await super()._drain(limit)

    settings = settings.model_copy(update={"mail_poll_seconds": 0.05})
    relay = FlakyRelay(settings)
    await queue(settings)
    stop = asyncio.Event()
    with caplog.at_level(logging.ERROR, logger="smbselect.mail"):
        task = asyncio.create_task(relay.run(stop))
        try:
            await smtp.wait_for(1, timeout=5)
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=5)

    assert len(smtp.messages) == 1
    assert any("drain failed" in r.getMessage() for r in caplog.records)
