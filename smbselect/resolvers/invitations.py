"""Invitations: an admin invites a registered partner's users to ONE program, each by their
own emailed link; the link lets them log in (choosing a password the first time) and see
the applications it opened.

One application per program and location, ever: a send opens the missing ones
(IN_PROGRESS), reopens closed ones as a new round and leaves open or approved ones in their
status, re-pointing every one of them at the new invitation and its expiry. Everything a
send writes (invitation, applications, events, links, emails) is one transaction.

Link tokens are random (``security.new_token``) and only their SHA-256 is stored.
``expire_due`` turns IN_PROGRESS applications whose invitation ran out into EXPIRED; it is
cheap and idempotent, so it runs before a link is shown or used and from a periodic loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from smbselect import ids, ratelimit
from smbselect.context import Context
from smbselect.db.enums import ApplicationEventKind, ApplicationStatus, UserRole
from smbselect.db.models import (
    Application,
    EmailMessage,
    Invitation,
    InvitationApplication,
    InvitationLink,
    Location,
    LocationMember,
    Partner,
    Program,
    TermsAcceptance,
    User,
)
from smbselect.errors import DomainError, ErrorCode
from smbselect.plugins.definitions import ProgramDef
from smbselect.resolvers import access, events, notify
from smbselect.resolvers.applications import try_advance
from smbselect.resolvers.auth import LOGIN_FAILED, LoginResult, start_session, upgrade_hash
from smbselect.resolvers.programs import ProgramView, definition_of, view_of
from smbselect.resolvers.registry import Problems
from smbselect.resolvers.status import CLOSED, Step, allowed, target
from smbselect.security import hash_password, new_token, password_problem, token_hash, verify_password

logger = logging.getLogger("smbselect.invitations")

# How often a send retries an application that someone changed between its read and its
# conditional update, before giving up (and rolling everything back).
_RACE_RETRIES = 3


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def invitation_url(ctx: Context, token: str) -> str:
    return f"{ctx.settings.app_url}/invitations/{token}"


def invalid_link_message(support_email: str) -> str:
    return (
        "This invitation link is unknown or has expired. Ask the program team for a new "
        f"invitation: {support_email}."
    )


def _invalid_link(support_email: str) -> DomainError:
    return DomainError.one(ErrorCode.INVITATION_INVALID, invalid_link_message(support_email),
                           ["input", "token"])


# --- sending ----------------------------------------------------------------------------


def _pk(value: int | None) -> int | None:
    """None for an id no row can have (id columns are 32-bit; PostgreSQL would raise)."""
    return value if value is not None and 0 < value <= ids.MAX_PK else None


@dataclass(frozen=True)
class SendInput:
    program_id: int | None
    partner_id: int | None
    user_ids: Sequence[int | None]
    # None: every location of the partner that an invited user acts for.
    location_ids: Sequence[int | None] | None = None


async def _check_send(
    ctx: Context, data: SendInput
) -> tuple[Program, ProgramDef, Partner, list[User], list[Location]]:
    """Everything a send needs, read and checked before anything is written; every problem
    of the input is reported at once."""
    problems = Problems()
    data = SendInput(
        program_id=_pk(data.program_id), partner_id=_pk(data.partner_id),
        user_ids=[_pk(i) for i in data.user_ids],
        location_ids=None if data.location_ids is None else [_pk(i) for i in data.location_ids],
    )
    program = await Program.get_or_none(id=data.program_id) if data.program_id else None
    if program is None:
        problems.add(ErrorCode.NOT_FOUND, "No such program.", "programId")
    elif not program.active:
        problems.add(ErrorCode.PROGRAM_UNAVAILABLE,
                     "This program is no longer offered: no new invitations can be sent.", "programId")
    partner = await Partner.get_or_none(id=data.partner_id) if data.partner_id else None
    users: list[User] = []
    locations: list[Location] = []
    eligible = False
    if partner is None:
        problems.add(ErrorCode.NOT_FOUND, "No such partner.", "partnerId")
    elif not partner.registered:
        problems.add(ErrorCode.NOT_ELIGIBLE,
                     f"{partner.name} is not a registered partner; only registered partners can be invited.",
                     "partnerId")
    elif not await User.filter(partner_id=partner.id, role=UserRole.PARTNER, active=True,
                               password_hash__not_isnull=True).exists():
        problems.add(ErrorCode.NOT_ELIGIBLE,
                     f"{partner.name} has no user who can log in; an invitation needs at least one.",
                     "partnerId")
    else:
        eligible = True
    if not data.user_ids:
        problems.add(ErrorCode.REQUIRED, "Choose at least one person to receive the invitation.", "userIds")
    # Who and where is only worth checking for a partner that can be invited at all.
    if partner is not None and eligible:
        wanted = [i for i in data.user_ids if i is not None]
        found = {u.id: u for u in await User.filter(id__in=wanted, partner_id=partner.id,
                                                     role=UserRole.PARTNER, active=True)}
        user_problem = False
        for index, uid in enumerate(data.user_ids):
            if uid is None or uid not in found:
                user_problem = True
                problems.add(ErrorCode.NOT_FOUND, "No such active person at this partner.",
                             "userIds", str(index))
            elif found[uid] not in users:
                users.append(found[uid])
        own = {loc.id: loc for loc in await Location.filter(partner_id=partner.id).order_by("name", "id")}
        if data.location_ids is not None:
            for index, loc_id in enumerate(data.location_ids):
                if loc_id is None or loc_id not in own:
                    problems.add(ErrorCode.NOT_FOUND, "No such location of this partner.",
                                 "locationIds", str(index))
                elif own[loc_id] not in locations:
                    locations.append(own[loc_id])
            if not data.location_ids:
                problems.add(ErrorCode.INVALID, "Choose at least one location, or leave the list out.",
                             "locationIds")
        elif users and not user_problem:
            acting = set(await LocationMember.filter(user_id__in=[u.id for u in users]).values_list(
                "location_id", flat=True))
            locations = [loc for loc in own.values() if loc.id in acting]
            if not locations:
                problems.add(ErrorCode.INVALID,
                             "None of these people acts for a location of the partner: choose the "
                             "locations, or give someone the right to act for one.", "userIds")
    problems.raise_if_any()
    assert program is not None and partner is not None
    return program, definition_of(program, ctx.plugins), partner, users, locations


async def send(ctx: Context, data: SendInput) -> Invitation:
    """Admin: invite some of a partner's users to one program (see the module docstring)."""
    admin = access.require_admin(ctx)
    program, pdef, partner, users, locations = await _check_send(ctx, data)
    now = utcnow()
    expires = now + timedelta(days=ctx.settings.invitation_ttl_days)
    tokens = {u.id: new_token() for u in users}
    async with in_transaction() as conn:
        invitation = await Invitation.create(
            program_id=program.id, partner_id=partner.id, invited_by_id=admin.id,
            sent_at=now, expires_at=expires, using_db=conn,
        )
        # ON CONFLICT DO NOTHING rather than catching IntegrityError: on PostgreSQL a failed
        # INSERT aborts the whole transaction, while this simply leaves a concurrent send's
        # row in place, which the re-read below treats as existing.
        await Application.bulk_create(
            [Application(program_id=program.id, location_id=loc.id, partner_id=partner.id,
                         status=ApplicationStatus.IN_PROGRESS, round=1, version=1,
                         invitation_id=invitation.id, invited_at=now, invitation_expires_at=expires)
             for loc in locations],
            ignore_conflicts=True, using_db=conn,
        )
        apps = await Application.filter(
            program_id=program.id, location_id__in=[loc.id for loc in locations]
        ).order_by("id").using_db(conn)  # one lock order for every send: no deadlock
        for app in apps:
            if app.invitation_id == invitation.id:  # just created: nothing else points here yet
                await events.record(conn, app, ApplicationEventKind.INVITED, admin, at=now,
                                    to_status=ApplicationStatus.IN_PROGRESS,
                                    data={"invitation_id": invitation.id})
            else:
                await _reinvite(conn, app, invitation, admin, now, expires)
        await InvitationApplication.bulk_create(
            [InvitationApplication(invitation_id=invitation.id, application_id=a.id) for a in apps],
            using_db=conn,
        )
        # A person invited again keeps their earlier, still valid links as long as the new one.
        earlier = await InvitationLink.filter(
            user_id__in=list(tokens), expires_at__gt=now,
            invitation__program_id=program.id, invitation__partner_id=partner.id,
        ).using_db(conn).values_list("id", flat=True)
        if earlier:
            await InvitationLink.filter(id__in=list(earlier)).using_db(conn).update(expires_at=expires)
        await InvitationLink.bulk_create(
            [InvitationLink(invitation_id=invitation.id, user_id=uid, token_hash=token_hash(tok),
                            expires_at=expires) for uid, tok in tokens.items()],
            using_db=conn,
        )
        for user in users:
            await _invitation_email(ctx, pdef, partner, user, locations, tokens[user.id],
                                    invitation, conn)
    return invitation


async def _reinvite(conn: Any, app: Application, invitation: Invitation, admin: User,
                    now: datetime, expires: datetime) -> None:
    """Point an existing application at a new invitation: a closed one is reopened as the
    next round, an open (or approved) one keeps its status and gets the new expiry."""
    for _ in range(_RACE_RETRIES):
        assert allowed(Step.INVITE, app.status)
        before = app.status
        changes: dict[str, Any] = {"invitation_id": invitation.id, "invitation_expires_at": expires}
        if before in CLOSED:
            # A new round: the previous round's submission and decision live on in the events.
            changes.update(status=target(Step.INVITE, before), round=app.round + 1, invited_at=now,
                           terms_declined=False, submitted_at=None, review_due_on=None,
                           decided_at=None, last_decision=None, decision_comment=None)
        if await try_advance(app, conn, **changes):
            if before in CLOSED:
                await TermsAcceptance.filter(application_id=app.id, withdrawn_at=None).using_db(
                    conn).update(withdrawn_at=now)
                await events.record(conn, app, ApplicationEventKind.REOPENED, admin, at=now,
                                    from_status=before, to_status=app.status,
                                    data={"invitation_id": invitation.id})
            await events.record(conn, app, ApplicationEventKind.INVITED, admin, at=now,
                                data={"invitation_id": invitation.id})
            return
        # Someone changed it between our read and our update: read again and decide again.
        fresh = await Application.get(id=app.id).using_db(conn)
        for name in ("status", "round", "version"):
            setattr(app, name, getattr(fresh, name))
    raise DomainError.one(
        ErrorCode.INVALID_STATUS,
        "An application of this invitation was changed by someone else just now; send it again.",
        ["input", "partnerId"],
    )


async def _invitation_email(
    ctx: Context, pdef: ProgramDef, partner: Partner, user: User, locations: list[Location],
    token: str, invitation: Invitation, conn: Any,
) -> None:
    names = ", ".join(f"{loc.name} ({loc.country})" for loc in locations)
    expiry = invitation.expires_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    await notify.send(ctx, pdef, notify.Draft(
        event="invitation",
        to=[user.email],
        name=user.name,
        subject=f"Invitation to {pdef.name}",
        title=f"{partner.name} is invited to {pdef.name}",
        paragraphs=[
            pdef.description,
            f"The invitation is for: {names}.",
            "Open your personal link below to log in (the first time you choose your password), "
            "then select the program for your location and prepare the application. The link "
            "is yours alone: do not forward it.",
            f"The link is valid until {expiry}. After that, ask for a new invitation at "
            f"{notify.support_of(ctx, pdef)}.",
        ],
        action_url=invitation_url(ctx, token),
        action_label="Open your invitation",
    ), invitation_id=invitation.id, conn=conn)


# --- expiry -----------------------------------------------------------------------------


async def expire_due(now: datetime | None = None, *, application_ids: Sequence[int] | None = None) -> int:
    """EXPIRED for every IN_PROGRESS application whose invitation ran out; how many changed.

    Idempotent and safe to run from several processes at once: each change is a conditional
    update on ``version``, so a racing step (a start, a new invitation) wins or loses whole.
    ``application_ids`` limits it to some applications (the ones of a link being used).
    """
    moment = now or utcnow()
    query = Application.filter(status=ApplicationStatus.IN_PROGRESS, invitation_expires_at__lte=moment)
    if application_ids is not None:
        if not application_ids:
            return 0
        query = query.filter(id__in=list(application_ids))
    changed = 0
    for app in await query.order_by("id"):
        async with in_transaction() as conn:
            updated = await Application.filter(
                id=app.id, version=app.version, status=ApplicationStatus.IN_PROGRESS
            ).using_db(conn).update(version=F("version") + 1,
                                    status=target(Step.EXPIRE, ApplicationStatus.IN_PROGRESS))
            if updated != 1:
                continue
            app.status = ApplicationStatus.EXPIRED
            await events.record(conn, app, ApplicationEventKind.EXPIRED, None, at=moment,
                                from_status=ApplicationStatus.IN_PROGRESS,
                                to_status=ApplicationStatus.EXPIRED)
            changed += 1
    if changed:
        logger.info("expired %d application(s) whose invitation ran out", changed)
    return changed


async def _expire_for(invitation_id: int) -> None:
    ids = await InvitationApplication.filter(invitation_id=invitation_id).values_list(
        "application_id", flat=True)
    await expire_due(application_ids=list(ids))


# --- using a link -----------------------------------------------------------------------


async def _link(token: str) -> InvitationLink | None:
    if not token or len(token) > 200:
        return None
    return await InvitationLink.get_or_none(token_hash=token_hash(token))


@dataclass(frozen=True)
class Preview:
    program_name: str
    partner_name: str
    expires_at: datetime
    expired: bool
    needs_password: bool
    support_email: str


async def preview(ctx: Context, token: str) -> Preview | None:
    """What a link shows before logging in; None for an unknown token. Unknown tokens are
    counted per client address: too many, and the answer is a RATE_LIMITED error."""
    try:
        guess = await ratelimit.invitation_guess(ctx.settings, ctx.client_ip)
    except ratelimit.Limited as limited:
        raise ratelimit.RateLimited(str(limited)) from None
    link = await _link(token)
    if link is None:
        return None
    await guess.known()
    await _expire_for(link.invitation_id)
    invitation = await Invitation.get(id=link.invitation_id).prefetch_related("program", "partner")
    user = await User.get(id=link.user_id)
    pdef = definition_of(invitation.program, ctx.plugins)
    return Preview(
        program_name=pdef.name,
        partner_name=invitation.partner.name,
        expires_at=link.expires_at,
        expired=link.expires_at <= utcnow(),
        needs_password=user.password_hash is None,
        support_email=notify.support_of(ctx, pdef),
    )


@dataclass(frozen=True)
class Accepted:
    login: LoginResult
    applications: list[Application]


async def accept(ctx: Context, token: str, password: str) -> Accepted:
    """Log in through a link: choose the password the first time, else give it as at login.

    Unknown tokens count as guesses per client address; a password given here counts as
    at login (per account and address), so a link is no way around the login limits."""
    guess = await ratelimit.invitation_guess(ctx.settings, ctx.client_ip)
    link = await _link(token)
    if link is None:
        raise _invalid_link(ctx.settings.support_email)
    await guess.known()
    await _expire_for(link.invitation_id)
    invitation = await Invitation.get(id=link.invitation_id).prefetch_related("program")
    support = notify.support_of(ctx, definition_of(invitation.program, ctx.plugins))
    user = await User.get(id=link.user_id)
    if link.expires_at <= utcnow() or not user.active:
        raise _invalid_link(support)
    attempt = await ratelimit.login_attempt(ctx.settings, user.username, ctx.client_ip)
    if user.password_hash is None:
        if why := password_problem(password):
            await attempt.abandoned()
            raise DomainError.one(ErrorCode.INVALID, why, ["input", "password"])
        new_hash = await hash_password(password)
        # Of two racing first uses only one sets the password; the other checks against it.
        won = await User.filter(id=user.id, password_hash=None, active=True).update(password_hash=new_hash)
        user = await User.get(id=user.id)
        if not user.active:
            await attempt.abandoned()
            raise _invalid_link(support)
        if not won and not await verify_password(user.password_hash, password):
            await attempt.failed()
            raise DomainError.one(ErrorCode.INVALID, LOGIN_FAILED, ["input", "password"])
    elif not await verify_password(user.password_hash, password):
        await attempt.failed()
        raise DomainError.one(ErrorCode.INVALID, LOGIN_FAILED, ["input", "password"])
    await attempt.succeeded()
    await upgrade_hash(user, password)
    async with in_transaction() as conn:
        await InvitationLink.filter(id=link.id, accepted_at=None).using_db(conn).update(accepted_at=utcnow())
        result = await start_session(ctx, user, using_db=conn)
    # The rest of this request (the payload's applications and user) is seen as this user.
    ctx.user = user
    acting = await LocationMember.filter(user_id=user.id).values_list("location_id", flat=True)
    apps = await Application.filter(
        invitation_links__invitation_id=invitation.id, location_id__in=list(acting)
    ).order_by("location_id", "id")
    return Accepted(result, apps)


# --- reading invitations (admins only) -----------------------------------------------------


async def get_invitation(ctx: Context, invitation_id: int | None) -> Invitation | None:
    """An invitation, for an admin; None for anyone else, exactly as if it did not exist."""
    access.require_user(ctx)
    if _pk(invitation_id) is None or not ctx.is_admin:
        return None
    return await Invitation.get_or_none(id=invitation_id)


async def program_of(ctx: Context, invitation: Invitation) -> ProgramView:
    return view_of(await Program.get(id=invitation.program_id), ctx)


async def partner_of(ctx: Context, invitation: Invitation) -> Partner:
    return await Partner.get(id=invitation.partner_id)


async def users_of(ctx: Context, invitation: Invitation) -> list[User]:
    """The recipients, in the order they were invited."""
    user_ids = await InvitationLink.filter(invitation_id=invitation.id).order_by("id").values_list(
        "user_id", flat=True)
    users = {u.id: u for u in await User.filter(id__in=list(user_ids))}
    return [users[i] for i in user_ids if i in users]


async def invited_by(ctx: Context, invitation: Invitation) -> User:
    return await User.get(id=invitation.invited_by_id)


async def applications_of(ctx: Context, invitation: Invitation) -> list[Application]:
    return await Application.filter(invitation_links__invitation_id=invitation.id).order_by(
        "location_id", "id")


async def emails_of(ctx: Context, invitation: Invitation) -> list[EmailMessage]:
    return await EmailMessage.filter(invitation_id=invitation.id).order_by("id")


async def expiry_loop(stop: asyncio.Event, every_seconds: float = 60.0) -> None:
    """Expire due applications every ``every_seconds`` until ``stop`` (in serve and worker).

    Links being used expire their own applications at once (preview, accept, start); this
    loop catches the ones nobody touches, so the admins' queue shows EXPIRED in time.
    """
    while not stop.is_set():
        try:
            await expire_due()
        except Exception:  # noqa: BLE001 - a database hiccup must not end the loop
            logging.getLogger("smbselect.invitations").exception("expiring invitations failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_seconds)
        except asyncio.TimeoutError:
            pass
