"""The emails of the process: who gets them and what they say.

Each email names the program, the location, what happened and what to do next, links to
the application in the web app and gives the support address. It is rendered in English
with the ``generic`` template, offered to the plugins' ``smbselect_email`` hook (which may
rewrite it, translate it or suppress it) and queued in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from smbselect import ids
from smbselect.context import Context
from smbselect.db.enums import ApplicationEventKind, UserRole
from smbselect.db.models import (
    Application,
    ApplicationEvent,
    Invitation,
    InvitationLink,
    Location,
    LocationMember,
    User,
)
from smbselect.mail.outbox import queue_email
from smbselect.mail.render import render_email
from smbselect.plugins.definitions import ProgramDef


@dataclass(frozen=True)
class Draft:
    """An email before the plugins see it."""

    event: str
    to: list[str]
    subject: str
    title: str
    paragraphs: list[str]
    action_url: str | None = None
    action_label: str | None = None
    cc: tuple[str, ...] = ()
    name: str | None = None


def application_url(ctx: Context, application_id: int) -> str:
    return f"{ctx.settings.app_url}/applications/{ids.encode('Application', application_id)}"


def support_of(ctx: Context, program: ProgramDef) -> str:
    return program.support_email or ctx.settings.support_email


def render(ctx: Context, program: ProgramDef | None, draft: Draft, language: str = "en") -> dict[str, Any] | None:
    """The final email (to, cc, subject, text, html) after the plugins, or None if suppressed."""
    support = support_of(ctx, program) if program else ctx.settings.support_email
    mail = render_email(
        "generic",
        language,
        title=draft.title,
        subject=draft.subject,
        paragraphs=draft.paragraphs,
        action_url=draft.action_url,
        action_label=draft.action_label,
        name=draft.name,
        support_email=support,
    )
    email = {"to": list(draft.to), "cc": list(draft.cc), "subject": mail.subject,
             "text": mail.text, "html": mail.html}
    return ctx.plugins.email(program, draft.event, language, email)


async def send(
    ctx: Context,
    program: ProgramDef | None,
    draft: Draft,
    *,
    application_id: int | None = None,
    invitation_id: int | None = None,
    conn: Any = None,
) -> None:
    """Render, let the plugins have their say, and queue in the caller's transaction."""
    if not draft.to:
        return
    email = render(ctx, program, draft)
    if email is None or not email.get("to"):
        return
    await queue_email(
        to=list(email["to"]),
        cc=list(email.get("cc") or []),
        subject=email["subject"],
        text=email["text"],
        html=email.get("html"),
        kind=draft.event,
        settings=ctx.settings,
        application_id=application_id,
        invitation_id=invitation_id,
        using_db=conn,
    )


# --- recipients -------------------------------------------------------------------------


async def partner_people(application: Application) -> list[User]:
    """The partner side of an application: its invited users who still act for the location,
    and whoever submitted it (in the current round)."""
    invited: list[int] = []
    if application.invitation_id:
        invited = await InvitationLink.filter(invitation_id=application.invitation_id).values_list(
            "user_id", flat=True
        )
    members = set(
        await LocationMember.filter(location_id=application.location_id).values_list("user_id", flat=True)
    )
    people = [uid for uid in invited if uid in members]
    submitter = await ApplicationEvent.filter(
        application_id=application.id, round=application.round, kind=ApplicationEventKind.SUBMITTED
    ).order_by("-id").values_list("actor_id", flat=True)
    if submitter and submitter[0] and submitter[0] not in people:
        people.insert(0, submitter[0])
    users = {u.id: u for u in await User.filter(id__in=people, active=True)}
    return [users[i] for i in people if i in users]


async def admin_addresses(ctx: Context, application: Application) -> list[str]:
    """The admins of an application: who sent its invitation, and REVIEW_EMAIL when set."""
    out: list[str] = []
    if application.invitation_id:
        invitation = await Invitation.get_or_none(id=application.invitation_id).prefetch_related("invited_by")
        if invitation and invitation.invited_by.active and invitation.invited_by.role == UserRole.ADMIN:
            out.append(invitation.invited_by.email)
    if ctx.settings.review_email and ctx.settings.review_email not in out:
        out.append(ctx.settings.review_email)
    return out


def emails_of(users: Sequence[User]) -> list[str]:
    seen: list[str] = []
    for u in users:
        if u.email not in seen:
            seen.append(u.email)
    return seen


def where(program: ProgramDef, location: Location) -> str:
    return f"{program.name} for {location.name} ({location.country})"
