"""An application's audit trail and emails, as the viewer may see them."""

from __future__ import annotations

from smbselect.context import Context
from smbselect.db.enums import UserRole
from smbselect.db.models import Application, ApplicationEvent, EmailMessage, User
from smbselect.db.rows import rows_where_in
from smbselect.resolvers import access, loaders


def trails(ctx: Context) -> loaders.BatchLoader[int, list[ApplicationEvent]]:
    """Each application's events, oldest first, batched for the request."""

    async def batch(app_ids: list[int]) -> list[list[ApplicationEvent]]:
        rows = await rows_where_in(ApplicationEvent, "application_id", app_ids, order_by=("occurred_at", "id"))
        return loaders.grouped(rows, "application_id", app_ids)

    return loaders.loader(ctx, "events", batch)


def mailboxes(ctx: Context) -> loaders.BatchLoader[int, list[EmailMessage]]:
    """Each application's emails, oldest first, batched for the request (admins' reads only:
    :func:`emails` answers partners without asking)."""

    async def batch(app_ids: list[int]) -> list[list[EmailMessage]]:
        rows = await rows_where_in(EmailMessage, "application_id", app_ids, order_by=("id",))
        return loaders.grouped(rows, "application_id", app_ids)

    return loaders.loader(ctx, "emails", batch)


def events_now(ctx: Context, row: Application) -> list[tuple[ApplicationEvent, User | None]]:
    """:func:`events` if the request holds the trail and its actors (a prefetch loads both)
    and the viewer is an admin, else ``MISSING``: a partner's view asks the database which
    actors it may see."""
    if not ctx.is_admin:
        return loaders.MISSING
    trail = trails(ctx).peek(row.id)
    if trail is loaders.MISSING:
        return loaders.MISSING
    users = loaders.user_by_id(ctx)
    out = []
    for event in trail:
        actor = users.peek(event.actor_id) if event.actor_id else None
        if actor is loaders.MISSING:
            return loaders.MISSING
        out.append((event, actor))
    return out


async def events(ctx: Context, row: Application) -> list[tuple[ApplicationEvent, User | None]]:
    """Oldest first; each with the actor's user when the viewer may see it (a partner never
    sees an admin's user record, only their name and role)."""
    trail = await trails(ctx).load(row.id)
    actor_ids = [e.actor_id for e in trail if e.actor_id]
    users = {u.id: u for u in await loaders.user_by_id(ctx).load_many(actor_ids) if u is not None}
    visible: set[int] = set(users)
    if not ctx.is_admin:
        allowed = set(
            await (await access.visible_users(ctx)).filter(id__in=list(users)).values_list("id", flat=True)
        )
        visible = {uid for uid in users if uid in allowed and users[uid].role != UserRole.ADMIN}
    return [(e, users.get(e.actor_id) if e.actor_id in visible else None) for e in trail]


async def emails(ctx: Context, row: Application) -> list[EmailMessage]:
    """Admins only: every email of the application, oldest first; partners get none."""
    if not ctx.is_admin:
        return []
    return await mailboxes(ctx).load(row.id)


def emails_now(ctx: Context, row: Application) -> list[EmailMessage]:
    """:func:`emails` if it needs no read (a partner's, or a prefetch loaded them), else
    ``MISSING``."""
    return mailboxes(ctx).peek(row.id) if ctx.is_admin else []
