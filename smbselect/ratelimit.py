"""Limits on guessing: failed logins, password-reset requests and invitation-link guesses.

Counters live in the database (``RateLimit``, one row per key), so every server process
sees the same counts. A key's window starts with its first attempt and lasts a fixed time;
the first attempt after it has run out starts a new window.

An attempt is *reserved* before the guess is checked, by one conditional UPDATE
(``count < limit``), and given back when the guess was right. Checking first and counting
after the (deliberately slow) password check would let a burst of parallel guesses all pass
the check; a reservation cannot be overtaken that way, on SQLite or on PostgreSQL.

Unknown accounts are counted exactly as existing ones, so neither the answers nor their
timing tell which usernames exist. Client addresses are counted per IPv4 address and per
IPv6 /64 network (what one IPv6 customer usually gets).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from smbselect.db.models import RateLimit
from smbselect.errors import AccessError, DomainError, ErrorCode, Problem
from smbselect.settings import Settings

MAX_KEY_LENGTH = 255
# Rows whose window started longer ago than this are deleted now and then; no window may be
# longer (the settings cap them at a day).
KEEP_ROWS = timedelta(days=1)
PRUNE_EVERY_SECONDS = 60.0
# The first slowed-down answer waits this long; each further failure doubles it, up to the
# login_slowdown_max_seconds setting.
FIRST_SLOWDOWN_SECONDS = 0.25

_last_prune = 0.0


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def retry_message(wait: timedelta) -> str:
    """"Too many attempts; try again in 5 minutes." (rounded up, at least one minute)."""
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    return f"Too many attempts; try again in {minutes} minute{'' if minutes == 1 else 's'}."


class Limited(DomainError):
    """A counter is full until ``retry_after`` has passed: RATE_LIMITED in ``userErrors``."""

    def __init__(self, retry_after: timedelta) -> None:
        super().__init__([Problem(ErrorCode.RATE_LIMITED, retry_message(retry_after))])
        self.retry_after = retry_after


class RateLimited(AccessError):
    """The top-level form of ``Limited``, for a query that has no ``userErrors``."""

    code = "RATE_LIMITED"
    default_message = "Too many attempts; try again later."


def key(kind: str, value: str) -> str:
    """``kind:value``; a value the column cannot hold (too long, with a NUL, which
    PostgreSQL refuses in text, or a lone surrogate, which is no UTF-8) is replaced by its
    SHA-256."""
    text = f"{kind}:{value}"
    try:
        storable = "\x00" not in text and bool(text.encode("utf-8"))
    except UnicodeEncodeError:
        storable = False
    if not storable or len(text) > MAX_KEY_LENGTH:
        digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
        text = f"{kind}:sha256:{digest}"
    return text


def address(client_ip: str | None) -> str | None:
    """The counted form of a client address: the IPv4 address, or the IPv6 /64 network."""
    if not client_ip:
        return None
    try:
        ip = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip  # not an IP (a test client's name): counted as it is
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


# --- counters ---------------------------------------------------------------------------


async def take(counter: str, limit: int, window: timedelta) -> int:
    """Reserve one attempt on ``counter``: the count including it. Raises ``Limited`` when
    ``limit`` attempts are already counted in the current window."""
    for _ in range(10):
        now = utcnow()
        started_after = now - window
        # The window is open and not full: count this attempt.
        if await RateLimit.filter(
            key=counter, window_start__gt=started_after, count__lt=limit
        ).update(count=F("count") + 1):
            row = await RateLimit.get_or_none(key=counter)  # read only to pace the answer
            return row.count if row is not None else 1
        # The window has run out: this attempt starts a new one.
        if await RateLimit.filter(key=counter, window_start__lte=started_after).update(
            window_start=now, count=1
        ):
            return 1
        row = await RateLimit.get_or_none(key=counter)
        if row is None:
            try:
                await RateLimit.create(key=counter, window_start=now, count=1)
            except IntegrityError:
                continue  # another request created it meanwhile: count on that row
            await _prune(now)
            return 1
        if row.window_start > started_after and row.count >= limit:
            raise Limited(row.window_start + window - now)
        # The row changed between two statements (an attempt given back, a new window).
    raise Limited(window)  # only under a pathological race: refusing is the safe answer


async def give_back(counter: str) -> None:
    """Undo one reservation (the guess was right, or no guess was made)."""
    await RateLimit.filter(key=counter, count__gt=0).update(count=F("count") - 1)


async def clear(counter: str) -> None:
    await RateLimit.filter(key=counter).delete()


async def _prune(now: datetime) -> None:
    """Delete long-finished windows, at most once a minute per process."""
    global _last_prune
    if time.monotonic() - _last_prune < PRUNE_EVERY_SECONDS:
        return
    _last_prune = time.monotonic()
    await RateLimit.filter(window_start__lt=now - KEEP_ROWS).delete()


# --- what the resolvers use ---------------------------------------------------------------


def slowdown(settings: Settings, failures: int) -> float:
    """Seconds to wait before answering the ``failures``-th failure of an account."""
    extra = failures - settings.login_slowdown_after
    if extra <= 0 or settings.login_slowdown_max_seconds <= 0:
        return 0.0
    pause = FIRST_SLOWDOWN_SECONDS * 2 ** (extra - 1)
    return float(min(settings.login_slowdown_max_seconds, pause))


@dataclass
class LoginAttempt:
    """One password guess, reserved on the account and on the client's address."""

    settings: Settings
    account_key: str
    address_key: str | None
    failures: int  # the account's count in this window, this attempt included

    async def failed(self) -> None:
        """The password was wrong: the reservation stays; answer after a growing pause."""
        delay = slowdown(self.settings, self.failures)
        if delay:
            await asyncio.sleep(delay)

    async def succeeded(self) -> None:
        """The password was right: the account starts afresh; the address gets its try back."""
        await clear(self.account_key)
        if self.address_key:
            await give_back(self.address_key)

    async def abandoned(self) -> None:
        """No password was checked after all (a new password too weak, say)."""
        await give_back(self.account_key)
        if self.address_key:
            await give_back(self.address_key)


async def login_attempt(settings: Settings, account: str, client_ip: str | None) -> LoginAttempt:
    """Reserve a password guess for ``account`` (a username, or the login text when no such
    user exists) from ``client_ip``. Raises ``Limited``."""
    window = timedelta(minutes=settings.login_window_minutes)
    account_key = key("login:user", account)
    failures = await take(account_key, settings.login_max_failures_per_account, window)
    address_key = None
    if (where := address(client_ip)) is not None:
        address_key = key("login:ip", where)
        try:
            await take(address_key, settings.login_max_failures_per_address, window)
        except Limited:
            await give_back(account_key)
            raise
    return LoginAttempt(settings, account_key, address_key, failures)


async def reset_request(settings: Settings, account: str, client_ip: str | None) -> None:
    """Count a password-reset request for ``account`` from ``client_ip`` (every request
    counts: each one sends an email). Raises ``Limited``."""
    window = timedelta(minutes=settings.password_reset_window_minutes)
    account_key = key("reset:user", account)
    await take(account_key, settings.password_reset_max_requests_per_account, window)
    if (where := address(client_ip)) is not None:
        try:
            limit = settings.password_reset_max_requests_per_address
            await take(key("reset:ip", where), limit, window)
        except Limited:
            await give_back(account_key)
            raise


@dataclass
class LinkGuess:
    """One use of an invitation link token, reserved on the client's address."""

    address_key: str | None

    async def known(self) -> None:
        """The token names a link: not a guess, so it does not count."""
        if self.address_key:
            await give_back(self.address_key)


async def invitation_guess(settings: Settings, client_ip: str | None) -> LinkGuess:
    """Reserve a link-token guess from ``client_ip``. Raises ``Limited``."""
    where = address(client_ip)
    if where is None:
        return LinkGuess(None)
    counter = key("invite:ip", where)
    await take(counter, settings.invitation_max_guesses_per_address,
               timedelta(minutes=settings.invitation_window_minutes))
    return LinkGuess(counter)
