"""Who may call what, and the scoped querysets: what an actor may see, decided in one place.

A partner user sees the locations they act for, those locations' applications, documents
and people, and their own partner. Everything else is answered as if it did not exist.
"""

from __future__ import annotations

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from smbselect.context import Context
from smbselect.db.models import Location, LocationMember, LocationStaff, Partner, User
from smbselect.errors import Forbidden, Unauthenticated


def require_user(ctx: Context) -> User:
    if ctx.user is None:
        raise Unauthenticated()
    return ctx.user


def require_admin(ctx: Context) -> User:
    user = require_user(ctx)
    if not ctx.is_admin:
        raise Forbidden()
    return user


def require_partner(ctx: Context) -> User:
    """The partner steps (start, save, terms, upload, submit, withdraw) are not an admin's."""
    user = require_user(ctx)
    if not ctx.is_partner:
        raise Forbidden()
    return user


async def acting_location_ids(ctx: Context) -> set[int]:
    """Ids of the locations the current partner user acts for (cached per request)."""
    key = ("acting_location_ids", ctx.user.id if ctx.user else None)
    if key not in ctx.cache:
        if ctx.user is None:
            ctx.cache[key] = set()
        else:
            ids = await LocationMember.filter(user_id=ctx.user.id).values_list(
                "location_id", flat=True
            )
            ctx.cache[key] = set(ids)
    return ctx.cache[key]


async def visible_location_ids(ctx: Context) -> list[int] | None:
    """The locations the viewer may see, and so whose applications: ``None`` for an admin
    (every one), else those the partner user acts for (none for an anonymous caller)."""
    if ctx.is_admin:
        return None
    return sorted(await acting_location_ids(ctx))


async def visible_locations(ctx: Context) -> QuerySet[Location]:
    ids = await visible_location_ids(ctx)
    return Location.all() if ids is None else Location.filter(id__in=ids)


async def visible_partners(ctx: Context) -> QuerySet[Partner]:
    if ctx.is_admin:
        return Partner.all()
    user = require_user(ctx)
    return Partner.filter(id=user.partner_id) if user.partner_id else Partner.filter(id=-1)


async def visible_users(ctx: Context) -> QuerySet[User]:
    """Admins see everyone; a partner user sees themself and the people (members or staff)
    of the locations they act for, never an admin."""
    if ctx.is_admin:
        return User.all()
    user = require_user(ctx)
    locs = list(await acting_location_ids(ctx))
    member_ids = LocationMember.filter(location_id__in=locs).values_list("user_id", flat=True)
    staff_ids = LocationStaff.filter(location_id__in=locs).values_list("user_id", flat=True)
    ids = set(await member_ids) | set(await staff_ids) | {user.id}
    return User.filter(Q(id__in=list(ids)), partner_id=user.partner_id)
