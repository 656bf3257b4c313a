"""The partner registry: partners, locations, people and certifications.

Writes are the admins'. Every input is checked in full before anything is written, so a
form gets all its problems at once and a refused change writes nothing. Reads go through
the scoped querysets of ``access``: a partner user sees only what they may.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from email_validator import EmailNotValidError, validate_email
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from smbselect.context import Context
from smbselect.countries import is_country
from smbselect.db.enums import UserRole
from smbselect.db.models import (
    Certification,
    Location,
    LocationMember,
    LocationStaff,
    Partner,
    User,
    fold,
)
from smbselect.errors import DomainError, ErrorCode, Problem, not_found
from smbselect.resolvers import access, loaders
from smbselect.resolvers.auth import end_all_sessions, normalise_login
from smbselect.resolvers.pagination import Page, keyset_page
from smbselect.security import hash_password, password_problem

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@+-]{0,149}$")
CERT_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
NAME_MAX = 200
# Control characters are in no name; NUL cannot even be stored (PostgreSQL refuses it in text).
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

Field = tuple[str, ...]


class Problems:
    """Collects problems of one input; ``raise_if_any`` raises them together."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, code: ErrorCode, message: str, *field: str) -> None:
        self.items.append(Problem(code, message, ("input", *field)))

    def raise_if_any(self) -> None:
        if self.items:
            raise DomainError(self.items)

    def about(self, field: str) -> bool:
        """Whether a problem was found with ``input.<field>``."""
        return any(p.field == ("input", field) for p in self.items)


def clean_name(value: str | None, problems: Problems, field: str, what: str) -> str:
    text = " ".join((value or "").split())
    if not text:
        problems.add(ErrorCode.REQUIRED, f"Enter the {what}.", field)
    elif len(text) > NAME_MAX:
        problems.add(ErrorCode.INVALID, f"The {what} may have at most {NAME_MAX} characters.", field)
    elif CONTROL_RE.search(text):
        problems.add(ErrorCode.INVALID, f"The {what} may not contain control characters.", field)
    return text


def clean_country(value: str, problems: Problems) -> str:
    code = (value or "").strip().upper()
    if not is_country(code):
        problems.add(
            ErrorCode.INVALID,
            f"'{value}' is not an ISO 3166-1 alpha-2 country code (e.g. AT, CN, TR).",
            "country",
        )
    return code


def clean_email(value: str, problems: Problems) -> str:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        problems.add(ErrorCode.INVALID, f"'{value}' is not a valid email address: {exc}", "email")
        return value


# --- reads ------------------------------------------------------------------------------


async def get_partner(ctx: Context, partner_id: int | None) -> Partner | None:
    if partner_id is None:
        return None
    return await (await access.visible_partners(ctx)).get_or_none(id=partner_id)


async def get_location(ctx: Context, location_id: int | None) -> Location | None:
    if location_id is None:
        return None
    return await (await access.visible_locations(ctx)).get_or_none(id=location_id)


async def get_user(ctx: Context, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    return await (await access.visible_users(ctx)).get_or_none(id=user_id)


async def search_partners(
    ctx: Context, search: str | None, first: int | None, after: str | None
) -> Page[Partner]:
    """Admin: Search Partner (Company), by a case-insensitive Unicode substring of the name."""
    access.require_admin(ctx)
    query = Partner.all()
    if search and search.strip():
        needle = fold(search.strip())
        # in no name, and PostgreSQL refuses NUL in a text parameter
        query = query.filter(id=-1) if "\x00" in needle else query.filter(name_fold__contains=needle)
    return await keyset_page(query, "name_fold", first, after, default_first=20)


async def search_people(
    ctx: Context,
    *,
    partner_id: int | None = None,
    staff_of_location_id: int | None = None,
    search: str | None,
    first: int | None,
    after: str | None,
) -> Page[User]:
    """People of a partner or staff of a location, within what the viewer may see."""
    query = await access.visible_users(ctx)
    if partner_id is not None:
        query = query.filter(partner_id=partner_id)
    if staff_of_location_id is not None:
        # An inactive person "is no longer offered as staff" (User.active in the contract).
        query = query.filter(staff_links__location_id=staff_of_location_id, active=True)
    if search and search.strip():
        needle = fold(search.strip())
        # in no name, and PostgreSQL refuses NUL in a text parameter
        query = query.filter(id=-1) if "\x00" in needle else query.filter(search_fold__contains=needle)
    return await keyset_page(query.distinct(), "search_fold", first, after, default_first=50)


# --- partners and locations -------------------------------------------------------------


async def partner_create(ctx: Context, name: str, registered: bool) -> Partner:
    access.require_admin(ctx)
    problems = Problems()
    clean = clean_name(name, problems, "name", "company name")
    problems.raise_if_any()
    return await Partner.create(name=clean, registered=registered)


async def partner_update(
    ctx: Context, partner_id: int | None, name: str | None, registered: bool | None
) -> Partner:
    access.require_admin(ctx)
    partner = await Partner.get_or_none(id=partner_id) if partner_id else None
    if partner is None:
        raise not_found(["input", "partnerId"])
    problems = Problems()
    if name is not None:
        partner.name = clean_name(name, problems, "name", "company name")
    problems.raise_if_any()
    if registered is not None:
        partner.registered = registered
    await partner.save()
    return partner


async def location_create(ctx: Context, partner_id: int | None, name: str, country: str) -> Location:
    access.require_admin(ctx)
    partner = await Partner.get_or_none(id=partner_id) if partner_id else None
    problems = Problems()
    if partner is None:
        problems.add(ErrorCode.NOT_FOUND, "No such partner.", "partnerId")
    clean = clean_name(name, problems, "name", "location name")
    code = clean_country(country, problems)
    problems.raise_if_any()
    return await Location.create(partner=partner, name=clean, country=code)


async def location_update(
    ctx: Context, location_id: int | None, name: str | None, country: str | None
) -> Location:
    access.require_admin(ctx)
    location = await Location.get_or_none(id=location_id) if location_id else None
    if location is None:
        raise not_found(["input", "locationId"])
    problems = Problems()
    if name is not None:
        location.name = clean_name(name, problems, "name", "location name")
    if country is not None:
        location.country = clean_country(country, problems)
    problems.raise_if_any()
    await location.save()
    return location


# --- people -----------------------------------------------------------------------------


@dataclass(frozen=True)
class UserInput:
    username: str
    email: str
    name: str
    role: UserRole
    partner_id: int | None
    partner_id_given: bool
    password: str | None
    location_ids: Sequence[int | None]
    staff_location_ids: Sequence[int | None]


async def _check_locations(
    ids: Sequence[int | None], partner_id: int | None, field: str, problems: Problems
) -> list[int]:
    """Every id must be a location of ``partner_id``; each offender is named by its index."""
    wanted = [i for i in ids if i is not None]
    owners = dict(await Location.filter(id__in=wanted).values_list("id", "partner_id"))
    good: list[int] = []
    for index, loc_id in enumerate(ids):
        if loc_id is None or loc_id not in owners:
            problems.add(ErrorCode.NOT_FOUND, "No such location.", field, str(index))
        elif partner_id is None:
            problems.add(ErrorCode.INVALID, "Only a partner's people can have locations.", field, str(index))
        elif owners[loc_id] != partner_id:
            problems.add(
                ErrorCode.INVALID, "This location belongs to another partner.", field, str(index)
            )
        elif loc_id not in good:
            good.append(loc_id)
    return good


async def _check_unique(problems: Problems, username: str | None, email: str | None,
                        exclude_id: int | None = None) -> None:
    if username is not None:
        query = User.filter(username=username)
        if exclude_id:
            query = query.exclude(id=exclude_id)
        if await query.exists():
            problems.add(ErrorCode.UNIQUE, "This username is already taken.", "username")
    if email is not None:
        query = User.filter(email=email)
        if exclude_id:
            query = query.exclude(id=exclude_id)
        if await query.exists():
            problems.add(ErrorCode.UNIQUE, "This email address is already used by another person.", "email")


async def _set_links(model: type[LocationMember] | type[LocationStaff], user_id: int,
                     location_ids: list[int], conn: object) -> None:
    await model.filter(user_id=user_id).using_db(conn).delete()  # type: ignore[arg-type]
    if location_ids:
        await model.bulk_create(
            [model(user_id=user_id, location_id=loc) for loc in location_ids], using_db=conn  # type: ignore[arg-type]
        )


def _unique_error(exc: IntegrityError) -> DomainError:
    """A unique constraint that a concurrent request won: answer as the pre-check would."""
    text = str(exc).lower()
    field = "email" if "email" in text else "username"
    what = "email address" if field == "email" else "username"
    return DomainError.one(ErrorCode.UNIQUE, f"This {what} is already taken.", ["input", field])


async def user_create(ctx: Context, data: UserInput) -> User:
    access.require_admin(ctx)
    problems = Problems()
    username = normalise_login(data.username)
    if not username:
        problems.add(ErrorCode.REQUIRED, "Enter a username.", "username")
    elif not USERNAME_RE.match(username):
        problems.add(
            ErrorCode.INVALID,
            "A username has 1 to 150 letters, digits or . _ @ + - and starts with a letter or digit.",
            "username",
        )
    email = clean_email(data.email, problems)
    name = clean_name(data.name, problems, "name", "person's name")
    partner_id: int | None = None
    if data.role == UserRole.PARTNER:
        if not data.partner_id_given:
            problems.add(ErrorCode.REQUIRED, "A partner user needs a partner.", "partnerId")
        elif data.partner_id is None or not await Partner.exists(id=data.partner_id):
            problems.add(ErrorCode.NOT_FOUND, "No such partner.", "partnerId")
        else:
            partner_id = data.partner_id
    elif data.partner_id_given:
        problems.add(ErrorCode.INVALID, "An admin belongs to no partner.", "partnerId")
    if data.password is not None and (why := password_problem(data.password)):
        problems.add(ErrorCode.INVALID, why, "password")
    acts_for: list[int] = []
    staff_of: list[int] = []
    if data.role == UserRole.PARTNER and partner_id is not None or data.location_ids or data.staff_location_ids:
        acts_for = await _check_locations(data.location_ids, partner_id, "locationIds", problems)
        staff_of = await _check_locations(data.staff_location_ids, partner_id, "staffLocationIds", problems)
    # only well-formed values are looked up: the columns cannot hold the others (too long,
    # NUL), and they cannot be taken anyway
    await _check_unique(problems, None if problems.about("username") else username or None,
                        None if problems.about("email") else email)
    problems.raise_if_any()
    password_hash = await hash_password(data.password) if data.password else None
    try:
        async with in_transaction() as conn:
            user = await User.create(
                username=username, email=email, name=name, role=data.role,
                partner_id=partner_id, password_hash=password_hash, using_db=conn,
            )
            await _set_links(LocationMember, user.id, acts_for, conn)
            await _set_links(LocationStaff, user.id, staff_of, conn)
    except IntegrityError as exc:
        raise _unique_error(exc) from exc
    return user


@dataclass(frozen=True)
class UserChanges:
    user_id: int | None
    name: str | None = None
    email: str | None = None
    active: bool | None = None
    location_ids: Sequence[int | None] | None = None
    staff_location_ids: Sequence[int | None] | None = None


async def user_update(ctx: Context, changes: UserChanges) -> User:
    access.require_admin(ctx)
    user = await User.get_or_none(id=changes.user_id) if changes.user_id else None
    if user is None:
        raise not_found(["input", "userId"])
    problems = Problems()
    if changes.name is not None:
        user.name = clean_name(changes.name, problems, "name", "person's name")
    if changes.email is not None:
        user.email = clean_email(changes.email, problems)
        if not problems.about("email"):
            await _check_unique(problems, None, user.email, exclude_id=user.id)
    acts_for = staff_of = None
    if changes.location_ids is not None:
        acts_for = await _check_locations(changes.location_ids, user.partner_id, "locationIds", problems)
    if changes.staff_location_ids is not None:
        staff_of = await _check_locations(
            changes.staff_location_ids, user.partner_id, "staffLocationIds", problems
        )
    if changes.active is False and ctx.user is not None and user.id == ctx.user.id:
        problems.add(ErrorCode.INVALID, "You cannot deactivate your own account.", "active")
    problems.raise_if_any()
    if changes.active is not None:
        user.active = changes.active
    try:
        async with in_transaction() as conn:
            await user.save(using_db=conn)
            if acts_for is not None:
                await _set_links(LocationMember, user.id, acts_for, conn)
            if staff_of is not None:
                await _set_links(LocationStaff, user.id, staff_of, conn)
            if changes.active is False:
                await end_all_sessions(user.id, using_db=conn)
    except IntegrityError as exc:
        raise _unique_error(exc) from exc
    return user


# --- certifications ---------------------------------------------------------------------


def clean_cert_code(code: str, problems: Problems) -> str:
    clean = (code or "").strip().upper()
    if not clean:
        problems.add(ErrorCode.REQUIRED, "Enter the certification code (e.g. CSE).", "code")
    elif not CERT_CODE_RE.match(clean):
        problems.add(
            ErrorCode.INVALID,
            "A certification code has 1 to 32 letters, digits, _ or - (e.g. CSE, CSA).",
            "code",
        )
    return clean


async def certification_create(
    ctx: Context, user_id: int | None, code: str, expires_on: date | None
) -> User:
    """Record a certification; recording one the person already holds renews its expiry."""
    access.require_admin(ctx)
    user = await User.get_or_none(id=user_id) if user_id else None
    if user is None:
        raise not_found(["input", "userId"])
    problems = Problems()
    clean = clean_cert_code(code, problems)
    problems.raise_if_any()
    async with in_transaction() as conn:
        updated = await Certification.filter(user_id=user.id, code=clean).using_db(conn).update(
            expires_on=expires_on
        )
        if not updated:
            try:
                await Certification.create(user=user, code=clean, expires_on=expires_on, using_db=conn)
            except IntegrityError:  # created concurrently: renew it instead
                await Certification.filter(user_id=user.id, code=clean).using_db(conn).update(
                    expires_on=expires_on
                )
    return user


async def certification_remove(ctx: Context, user_id: int | None, code: str) -> User:
    access.require_admin(ctx)
    user = await User.get_or_none(id=user_id) if user_id else None
    if user is None:
        raise not_found(["input", "userId"])
    clean = (code or "").strip().upper()
    # a malformed code (too long for the column, NUL) is held by no one
    deleted = await Certification.filter(user_id=user.id, code=clean).delete() if CERT_CODE_RE.match(clean) else 0
    if not deleted:
        raise DomainError.one(
            ErrorCode.NOT_FOUND, "This person holds no such certification.", ["input", "code"]
        )
    return user


# --- nested reads (batched, scoped) -----------------------------------------------------


async def _scope_locations(ctx: Context, locations: list[Location]) -> list[Location]:
    if ctx.is_admin:
        return locations
    allowed = await access.acting_location_ids(ctx)
    return [loc for loc in locations if loc.id in allowed]


async def partner_locations(ctx: Context, partner_id: int) -> list[Location]:
    """Partner.locations: for a partner user, only the locations they act for."""
    return await _scope_locations(ctx, await loaders.locations_of_partner(ctx).load(partner_id))


async def user_locations(ctx: Context, user_id: int) -> list[Location]:
    return await _scope_locations(ctx, await loaders.member_locations(ctx).load(user_id))


async def user_staff_of(ctx: Context, user_id: int) -> list[Location]:
    return await _scope_locations(ctx, await loaders.staff_locations(ctx).load(user_id))


async def location_members(ctx: Context, location_id: int) -> list[User]:
    """The location is visible (callers got it through the scope), so are its members."""
    return await loaders.location_members(ctx).load(location_id)


def _may_see_partner(ctx: Context, partner_id: int | None) -> bool:
    if partner_id is None:
        return False
    return ctx.is_admin or (ctx.user is not None and ctx.user.partner_id == partner_id)


async def partner_of(ctx: Context, partner_id: int | None) -> Partner | None:
    if not _may_see_partner(ctx, partner_id):
        return None
    return await loaders.partner_by_id(ctx).load(partner_id)  # type: ignore[arg-type]


def partner_now(ctx: Context, partner_id: int | None) -> Partner | None:
    """:func:`partner_of` from what the request holds already, else ``loaders.MISSING``."""
    if not _may_see_partner(ctx, partner_id):
        return None
    return loaders.partner_by_id(ctx).peek(partner_id)  # type: ignore[arg-type]


async def certifications_of(ctx: Context, user_id: int) -> list[Certification]:
    return await loaders.certifications_of(ctx).load(user_id)
