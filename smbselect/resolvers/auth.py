"""Accounts: login, sessions, password change and reset.

One message for a wrong password, an unknown user and an inactive user, and the same
answer to a reset request whether or not the account exists: nothing here tells an
outsider which usernames exist. Failed logins and reset requests are counted per account
and per client address (smbselect/ratelimit.py), unknown accounts included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache

from tortoise import connections
from tortoise.transactions import in_transaction

from smbselect import ratelimit
from smbselect.context import Context
from smbselect.db.models import PasswordResetToken, Session, User
from smbselect.db.rows import builder
from smbselect.errors import DomainError, ErrorCode
from smbselect.mail.outbox import queue_email
from smbselect.mail.render import render_email
from smbselect.resolvers.access import require_user
from smbselect.security import (
    hash_password,
    needs_rehash,
    new_token,
    password_problem,
    token_hash,
    verify_password,
)

LOGIN_FAILED = "The username or password is not correct."
RESET_INVALID = "This password reset link is invalid or has expired. Ask for a new one."


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class LoginResult:
    token: str
    expires_at: datetime
    user: User


def normalise_login(text: str) -> str:
    return text.strip().casefold()


async def find_login_user(login: str) -> User | None:
    """The user a login name (username or email) names, active or not."""
    key = normalise_login(login)
    if not key:
        return None
    field = "email" if "@" in key else "username"
    # A name its column could not hold names no one: tortoise refuses a filter value over
    # max_length, and PostgreSQL a NUL in text (both were "Unexpected error.").
    if "\x00" in key or len(key) > User._meta.fields_map[field].max_length:
        return None
    return await User.get_or_none(**{field: key})


def account_name(user: User | None, login: str) -> str:
    """What the limits count a login name as: the account's username, so that its username
    and its email share one counter; the login text itself when no such user exists."""
    return user.username if user is not None else normalise_login(login)


async def start_session(ctx: Context, user: User, using_db=None) -> LoginResult:  # type: ignore[no-untyped-def]
    token = new_token()
    expires = now() + timedelta(hours=ctx.settings.session_ttl_hours)
    await Session.create(user=user, token_hash=token_hash(token), expires_at=expires, using_db=using_db)
    return LoginResult(token, expires, user)


async def upgrade_hash(user: User, password: str) -> None:
    """After ``password`` was verified: re-hash a hash made with older parameters, while the
    password is at hand (login and an invitation link's login both call this); only if the
    hash is still the one just verified, so a concurrent password change wins."""
    if user.password_hash and needs_rehash(user.password_hash):
        await User.filter(id=user.id, password_hash=user.password_hash).update(
            password_hash=await hash_password(password))


async def login(ctx: Context, username: str, password: str) -> LoginResult:
    user = await find_login_user(username)
    account = account_name(user, username)
    attempt = await ratelimit.login_attempt(ctx.settings, account, ctx.client_ip)
    ok = await verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        await attempt.failed()
        raise DomainError.one(ErrorCode.INVALID, LOGIN_FAILED)
    await attempt.succeeded()
    await upgrade_hash(user, password)
    result = await start_session(ctx, user)
    ctx.user = user  # the payload's fields (user.partner, ...) are shown as to this user
    return result


@cache
def _user_columns() -> tuple[str, ...]:
    """The user's columns in the order :func:`_session_sql` selects them."""
    return tuple(User._meta.db_fields)


@cache
def _session_sql(dialect: str) -> str:
    """The statement behind :func:`authenticate`, written once: every request runs it, and
    building it with the query builder cost more than running it."""
    columns = ", ".join(f'u."{column}"' for column in _user_columns())
    param = "$1" if dialect == "postgres" else "?"
    return (
        f'SELECT s."id" AS "session__id", s."expires_at" AS "session__expires_at", {columns} '
        f'FROM "{Session._meta.db_table}" s JOIN "{User._meta.db_table}" u ON u."id" = s."user_id" '
        f'WHERE s."token_hash" = {param}'
    )


async def authenticate(token: str | None) -> tuple[User, int] | None:
    """The active user and session id of a bearer token, or None (unknown, expired, inactive)."""
    if not token or len(token) > 200:
        return None
    conn = connections.get("default")
    _, rows = await conn.execute_query(_session_sql(conn.capabilities.dialect), [token_hash(token)])
    if not rows:
        return None
    row = rows[0]  # the session's id and expiry, then the user's columns
    expires_at = Session._meta.fields_map["expires_at"].to_python_value(row[1])
    user = builder(User, (None, None, *_user_columns()))(row)
    if expires_at <= now() or not user.active:
        return None
    return user, row[0]


async def logout(ctx: Context) -> None:
    require_user(ctx)
    if ctx.session_id is not None:
        await Session.filter(id=ctx.session_id).delete()


async def end_all_sessions(user_id: int, keep_session_id: int | None = None, using_db=None) -> int:  # type: ignore[no-untyped-def]
    query = Session.filter(user_id=user_id)
    if keep_session_id is not None:
        query = query.exclude(id=keep_session_id)
    return await query.using_db(using_db).delete()


async def password_change(ctx: Context, current_password: str, new_password: str) -> None:
    """Change one's own password; every other session of the user ends."""
    user = require_user(ctx)
    if not await verify_password(user.password_hash, current_password):
        raise DomainError.one(
            ErrorCode.INVALID, "The current password is not correct.", ["input", "currentPassword"]
        )
    if problem := password_problem(new_password):
        raise DomainError.one(ErrorCode.INVALID, problem, ["input", "newPassword"])
    new_hash = await hash_password(new_password)
    async with in_transaction() as conn:
        await User.filter(id=user.id).using_db(conn).update(password_hash=new_hash)
        await end_all_sessions(user.id, keep_session_id=ctx.session_id, using_db=conn)


async def password_reset_request(ctx: Context, login_name: str) -> None:
    """Email a reset link to an active account; do the same nothing-visible otherwise."""
    user = await find_login_user(login_name)
    await ratelimit.reset_request(ctx.settings, account_name(user, login_name), ctx.client_ip)
    if user is None or not user.active:
        return
    token = new_token()
    minutes = ctx.settings.password_reset_ttl_minutes
    link = f"{ctx.settings.app_url}/password-reset/{token}"
    mail = render_email(
        "password_reset",
        name=user.name,
        username=user.username,
        reset_url=link,
        valid_minutes=minutes,
        support_email=ctx.settings.support_email,
    )
    async with in_transaction() as conn:
        await PasswordResetToken.create(
            user=user,
            token_hash=token_hash(token),
            expires_at=now() + timedelta(minutes=minutes),
            using_db=conn,
        )
        await queue_email(
            to=[user.email],
            subject=mail.subject,
            text=mail.text,
            html=mail.html,
            kind="password_reset",
            settings=ctx.settings,
            using_db=conn,
        )


async def password_reset(ctx: Context, token: str, new_password: str) -> None:
    """Set a new password from an emailed link: single use; ends every session of the user."""
    if problem := password_problem(new_password):
        raise DomainError.one(ErrorCode.INVALID, problem, ["input", "newPassword"])
    row = await PasswordResetToken.get_or_none(token_hash=token_hash(token or ""))
    if row is None or row.used_at is not None or row.expires_at <= now():
        raise DomainError.one(ErrorCode.INVALID, RESET_INVALID, ["input", "token"])
    new_hash = await hash_password(new_password)
    async with in_transaction() as conn:
        # Conditional update: of two racing uses of one link, only one wins.
        claimed = await PasswordResetToken.filter(id=row.id, used_at=None).using_db(conn).update(
            used_at=now()
        )
        if claimed != 1:
            raise DomainError.one(ErrorCode.INVALID, RESET_INVALID, ["input", "token"])
        await User.filter(id=row.user_id, active=True).using_db(conn).update(password_hash=new_hash)
        # Any other link the user asked for is void now: the password was just chosen.
        await PasswordResetToken.filter(user_id=row.user_id, used_at=None).using_db(conn).update(
            used_at=now()
        )
        await end_all_sessions(row.user_id, using_db=conn)


async def session_revoke(ctx: Context, user_id: int | None) -> int:
    """Admin: end every session of a user."""
    from smbselect.errors import not_found
    from smbselect.resolvers.access import require_admin

    require_admin(ctx)
    if user_id is None or not await User.exists(id=user_id):
        raise not_found(["input", "userId"])
    return await end_all_sessions(user_id)
