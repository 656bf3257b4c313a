"""Passwords and tokens.

Passwords are hashed with argon2id. Hashing is CPU- and memory-hungry (tens of MiB each),
so it runs in threads behind a semaphore: a burst of logins queues instead of growing memory.
Tokens (sessions, reset and invitation links) carry 256 random bits and are stored only as
their SHA-256, so a copy of the database opens no account.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import hashlib
import hmac
import secrets
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2id with OWASP's recommended minimum (m=19 MiB, t=2, p=1; Password Storage Cheat
# Sheet). The library's default (RFC 9106, 64 MiB and 4 lanes) made every concurrent login
# hold 64 MiB: four at once took a worker from ~130 MB to ~390 MB. Hashes made with other
# parameters still verify, and are re-hashed with these at the next login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_semaphore: asyncio.Semaphore | None = None
_limit = 2
_executor: ThreadPoolExecutor | None = None
# A real hash of a random password: verifying against it makes an unknown user cost as much
# time as a known one, so response times do not tell which usernames exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256


def configure(max_concurrent_hashes: int) -> None:
    """Set how many hashes may run at once (from settings, at start-up)."""
    global _limit, _semaphore, _executor
    _limit = max(1, max_concurrent_hashes)
    _semaphore = None
    if _executor is not None:
        _executor.shutdown(wait=False)
    _executor = None
    _give_large_blocks_back()


def _give_large_blocks_back() -> None:
    """Have glibc give each hash's 19 MiB back to the system when the hash is done.

    glibc serves a large block by mmap, but after the first such block is freed it raises
    its mmap threshold to that size, and later blocks come from the thread's own arena,
    which keeps them: with a thread per hash the process held every thread's blocks (a
    worker grew to 300-440 MB under 32 concurrent logins). A fixed threshold (1 MiB) keeps
    them mmapped. Elsewhere than glibc this does nothing."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_mmap_threshold = -3  # from malloc.h
        libc.mallopt(m_mmap_threshold, 1 << 20)
    except (OSError, AttributeError):
        pass


def _sem() -> asyncio.Semaphore:
    global _semaphore
    if _semaphore is None:
        _semaphore = asyncio.Semaphore(_limit)
    return _semaphore


def _threads() -> ThreadPoolExecutor:
    """The hashing threads: as many as hashes may run, not the loop's default pool."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=_limit, thread_name_prefix="argon2")
    return _executor


async def hash_password(password: str) -> str:
    async with _sem():
        return await asyncio.get_running_loop().run_in_executor(_threads(), _hasher.hash, password)


def hash_password_now(password: str) -> str:
    """:func:`hash_password` for scripts (the benchmark's data generator): blocking."""
    return _hasher.hash(password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; also spends the time when there is no hash at all."""
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async with _sem():
        return await asyncio.get_running_loop().run_in_executor(_threads(), check)


def needs_rehash(password_hash: str) -> bool:
    """True when ``password_hash`` was made with other parameters than today's."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must have at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password must have at most {MAX_PASSWORD_LENGTH} characters."
    return None


def new_token() -> str:
    """A bearer token or link token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def sign(secret_key: str, message: str) -> str:
    """HMAC-SHA256 of ``message`` (for short-lived signed links)."""
    return hmac.new(secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def signature_ok(secret_key: str, message: str, signature: str) -> bool:
    return hmac.compare_digest(sign(secret_key, message), signature)
