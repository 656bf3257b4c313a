"""The outbox: queue an email in the same transaction as the change that causes it.

A resolver never talks to an SMTP server. It writes an ``EmailMessage`` row next to its
business change, so the email exists if and only if the change committed; the relay
(:mod:`smbselect.mail.relay`) delivers it afterwards and retries on failure.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

from smbselect.db.enums import EmailStatus
from smbselect.db.models import EmailMessage
from smbselect.mail.render import header_safe
from smbselect.settings import Settings

SUBJECT_MAX = 500  # EmailMessage.subject's column width
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def utcnow() -> datetime:
    return datetime.now(UTC)


def sender_domain(mail_from: str) -> str:
    """The domain of the From address, for Message-IDs ("localhost" if there is none)."""
    _, address = parseaddr(mail_from)
    domain = address.rpartition("@")[2].strip()
    return domain or "localhost"


def make_message_id(settings: Settings) -> str:
    """A globally unique Message-ID, fixed at queue time so every retry reuses it.

    Receivers (and their spam filters) use it to recognise a retried delivery as the same
    message; it is also how a test or an admin ties a received email back to its row.
    """
    return f"<{uuid.uuid4().hex}@{sender_domain(settings.mail_from)}>"


def clean_recipients(addresses: Iterable[str], *, exclude: Iterable[str] = ()) -> list[str]:
    """Stripped, non-empty, de-duplicated (case-insensitively, first spelling kept) addresses.

    Raises ValueError for an address holding a line break or another control character:
    such a value is an attempt to add a header, never a typo worth repairing.
    """
    seen = {a.strip().casefold() for a in exclude}
    result: list[str] = []
    for raw in addresses:
        if _CONTROL.search(raw):
            raise ValueError(f"email address contains a control character: {raw!r}")
        address = raw.strip()
        if not address or address.casefold() in seen:
            continue
        seen.add(address.casefold())
        result.append(address)
    return result


def clean_envelope(to: list[str], cc: list[str], subject: str) -> tuple[list[str], list[str], str]:
    """The recipients and subject as the outbox stores them: addresses cleaned, cc without
    those already in to, the subject header-safe and cut to SUBJECT_MAX. (``to`` may come
    out empty: the caller decides what that means.)"""
    clean_to = clean_recipients(to)
    clean_cc = clean_recipients(cc, exclude=clean_to)
    clean_subject = header_safe(subject)
    if len(clean_subject) > SUBJECT_MAX:
        clean_subject = clean_subject[: SUBJECT_MAX - 1].rstrip() + "…"
    return clean_to, clean_cc, clean_subject


async def queue_email(
    *,
    to: list[str],
    subject: str,
    text: str,
    html: str | None,
    kind: str,
    settings: Settings,
    cc: list[str] | None = None,
    application_id: int | None = None,
    invitation_id: int | None = None,
    using_db: Any = None,
) -> EmailMessage:
    """Write one QUEUED email in the caller's transaction (``using_db``) and return it.

    Nothing is sent here: after the caller commits it may call ``MailRelay.wake()`` so that
    the relay picks the row up at once instead of at its next poll. An address in ``cc``
    that is already in ``to`` is dropped. Raises ValueError when no recipient is left or an
    address contains a line break.
    """
    clean_to, clean_cc, clean_subject = clean_envelope(to, cc or [], subject)
    if not clean_to:
        raise ValueError("an email needs at least one recipient")
    now = utcnow()
    return await EmailMessage.create(
        using_db=using_db,
        to=clean_to,
        cc=clean_cc,
        subject=clean_subject,
        body_text=text,
        body_html=html,
        message_id=make_message_id(settings),
        kind=kind,
        status=EmailStatus.QUEUED,
        attempts=0,
        queued_at=now,
        next_attempt_at=now,
        application_id=application_id,
        invitation_id=invitation_id,
    )
