"""The admins' view of the outbox: list emails by status, send a FAILED one again."""

from __future__ import annotations

from smbselect.context import Context
from smbselect.db.enums import EmailStatus
from smbselect.db.models import EmailMessage
from smbselect.errors import DomainError, ErrorCode, not_found
from smbselect.mail.relay import MailRelay
from smbselect.resolvers import access
from smbselect.resolvers.pagination import Page, keyset_page


async def list_emails(
    ctx: Context, status: EmailStatus | None, first: int | None, after: str | None
) -> Page[EmailMessage]:
    """Newest first, optionally of one status."""
    access.require_admin(ctx)
    query = EmailMessage.all()
    if status is not None:
        query = query.filter(status=status)
    return await keyset_page(query, "id", first, after, default_first=50, descending=True)


async def email_retry(ctx: Context, email_id: int | None) -> EmailMessage:
    """Queue a FAILED email again; the relay sends it at once."""
    access.require_admin(ctx)
    email = await EmailMessage.get_or_none(id=email_id) if email_id else None
    if email is None:
        raise not_found(["input", "emailId"])
    retried = await MailRelay(ctx.settings).retry_email(email.id)
    if retried is None:
        raise DomainError.one(
            ErrorCode.INVALID_STATUS, "Only a FAILED email can be sent again.", ["input", "emailId"]
        )
    return retried


async def get_email(ctx: Context, email_id: int) -> EmailMessage | None:
    """An email by id: the admins' alone (anyone else gets None, as for a missing one)."""
    if not ctx.is_admin:
        return None
    return await EmailMessage.get_or_none(id=email_id)
