"""Test kit for smbselect and for program owners' plugins.

Real parts, no mocks: a migrated database (SQLite file or a throw-away PostgreSQL database),
an SMTP server (aiosmtpd) that collects what it receives, and a GraphQL client that talks
to the real ASGI app. ``tests/conftest.py`` turns these into pytest fixtures.
"""

from __future__ import annotations

import asyncio
import email
import logging
import email.policy
import re
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage as MimeMessage
from typing import Any

import httpx

from smbselect.db.enums import UserRole
from smbselect.logs import is_sql_statement
from smbselect.db.models import (
    Certification,
    Location,
    LocationMember,
    LocationStaff,
    Partner,
    User,
)

ADMIN_PASSWORD = "admin-password-1"
PARTNER_PASSWORD = "partner-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- databases --------------------------------------------------------------------------


async def create_pg_database(server_url: str) -> str:
    """Create an empty PostgreSQL database on ``server_url`` and return its URL."""
    import asyncpg

    name = f"smbselect_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_asyncpg_dsn(server_url, "postgres"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _with_db(server_url, name)


async def drop_pg_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1].split("?")[0]
    conn = await asyncpg.connect(_asyncpg_dsn(url, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _with_db(server_url: str, name: str) -> str:
    base = server_url.split("?")[0].rstrip("/")
    if base.count("/") >= 3:  # postgres://host/dbname: replace the name
        base = base.rsplit("/", 1)[0]
    return f"{base}/{name}"


def _asyncpg_dsn(url: str, dbname: str) -> str:
    dsn = _with_db(url, dbname)
    return "postgresql://" + dsn.split("://", 1)[1]


async def truncate_all() -> None:
    """Empty every table (between tests), keeping the migrated schema, and forget what the
    process learned about the data (the search's verdicts on needles)."""
    from tortoise import Tortoise

    from smbselect.db import search

    search.forget()

    conn = Tortoise.get_connection("default")
    tables = [
        m._meta.db_table
        for app in Tortoise.apps.values()
        for m in app.values()
    ]
    if conn.capabilities.dialect == "postgres":
        quoted = ", ".join(f'"{t}"' for t in tables)
        await conn.execute_script(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
    else:
        script = "PRAGMA foreign_keys=OFF;" + "".join(f'DELETE FROM "{t}";' for t in tables)
        script += "DELETE FROM sqlite_sequence;" if await _has_sqlite_sequence(conn) else ""
        await conn.execute_script(script + "PRAGMA foreign_keys=ON;")


async def _has_sqlite_sequence(conn: Any) -> bool:
    rows = await conn.execute_query_dict(
        "SELECT name FROM sqlite_master WHERE type='table' AND name='sqlite_sequence'"
    )
    return bool(rows)


# --- mail -------------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    """One message as the SMTP server received it."""

    mail_from: str
    rcpt_tos: list[str]
    message: MimeMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"]).strip()

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""

    def links(self) -> list[str]:
        return re.findall(r"https?://[^\s<>\"']+", self.text)


@dataclass
class SmtpCatcher:
    """An aiosmtpd server on a free loopback port that keeps every message it accepts.

    ``stop()`` and ``start()`` simulate an outage; ``reply`` makes it answer every
    DATA with a given SMTP status (e.g. "451 try later" or "550 no such user").
    """

    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    messages: list[ReceivedMail] = field(default_factory=list)
    reply: str | None = None
    _controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.reply:
            return self.reply
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(
            ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message)  # type: ignore[arg-type]
        )
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self.messages

    def to(self, address: str) -> list[ReceivedMail]:
        return [m for m in self.messages if address in m.rcpt_tos]


# --- data -------------------------------------------------------------------------------


async def make_partner(name: str = "Equant", registered: bool = True) -> Partner:
    return await Partner.create(name=name, registered=registered)


async def make_location(partner: Partner, name: str, country: str) -> Location:
    return await Location.create(partner=partner, name=name, country=country)


_HASHES: dict[str, str] = {}


async def _cached_hash(password: str) -> str:
    """Tests create many users with the same few passwords: hash each once per run
    (argon2id is deliberately slow)."""
    from smbselect.security import hash_password

    if password not in _HASHES:
        _HASHES[password] = await hash_password(password)
    return _HASHES[password]


async def make_user(
    username: str,
    *,
    role: UserRole = UserRole.PARTNER,
    partner: Partner | None = None,
    password: str | None = None,
    name: str | None = None,
    email_address: str | None = None,
    acts_for: list[Location] = (),  # type: ignore[assignment]
    staff_of: list[Location] = (),  # type: ignore[assignment]
    certifications: dict[str, date | None] | None = None,
    active: bool = True,
) -> User:
    user = await User.create(
        username=username,
        email=email_address or f"{username}@example.com",
        name=name or username.replace(".", " ").title(),
        role=role,
        partner=partner,
        password_hash=await _cached_hash(password) if password else None,
        active=active,
    )
    for loc in acts_for:
        await LocationMember.create(location=loc, user=user)
    for loc in staff_of:
        await LocationStaff.create(location=loc, user=user)
    for code, expires in (certifications or {}).items():
        await Certification.create(user=user, code=code, expires_on=expires)
    return user


# --- GraphQL ----------------------------------------------------------------------------


@dataclass
class GraphQLClient:
    """Posts GraphQL documents to an app (ASGI in-process, or a real URL over HTTP)."""

    http: httpx.AsyncClient
    token: str | None = None

    async def post(self, query: str, variables: dict | None = None, token: str | None = None,
                   **extra: Any) -> httpx.Response:
        headers = {}
        bearer = token if token is not None else self.token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        body: dict[str, Any] = {"query": query, "variables": variables or {}}
        body.update(extra)
        return await self.http.post("/graphql", json=body, headers=headers)

    async def gql(self, query: str, variables: dict | None = None,
                  token: str | None = None) -> dict[str, Any]:
        """The response JSON (data and errors); fails on a non-JSON or 5xx answer."""
        response = await self.post(query, variables, token)
        assert response.status_code < 500, response.text
        return response.json()

    async def data(self, query: str, variables: dict | None = None,
                   token: str | None = None) -> dict[str, Any]:
        """``data`` of a response that must have no top-level error."""
        result = await self.gql(query, variables, token)
        assert not result.get("errors"), result["errors"]
        return result["data"]

    async def login(self, username: str, password: str) -> str:
        data = await self.data(
            "mutation($u:String!,$p:String!){login(input:{username:$u,password:$p})"
            "{token userErrors{code message}}}",
            {"u": username, "p": password},
            token="",
        )
        assert data["login"]["userErrors"] == [], data
        return str(data["login"]["token"])

    async def as_user(self, username: str, password: str) -> GraphQLClient:
        """A client sharing this connection, logged in as ``username``."""
        return GraphQLClient(self.http, await self.login(username, password))


async def make_application(
    program_code: str,
    location: Location,
    *,
    status: str = "IN_PROGRESS",
    invited_by: User | None = None,
    invited_users: list[User] = (),  # type: ignore[assignment]
) -> Any:
    """An application of ``location`` to a program, created directly (no invitation email),
    with an invitation row linking ``invited_users`` when ``invited_by`` is given."""
    from datetime import datetime, timedelta, timezone

    from smbselect.db.enums import ApplicationStatus
    from smbselect.db.models import Application, Invitation, InvitationApplication, InvitationLink, Program
    from smbselect.security import new_token, token_hash

    program = await Program.get(code=program_code)
    now = datetime.now(timezone.utc)
    invitation = None
    if invited_by is not None:
        invitation = await Invitation.create(
            program=program, partner_id=location.partner_id, invited_by=invited_by,
            sent_at=now, expires_at=now + timedelta(days=30),
        )
        for user in invited_users:
            await InvitationLink.create(invitation=invitation, user=user,
                                        token_hash=token_hash(new_token()),
                                        expires_at=now + timedelta(days=30))
    app = await Application.create(
        program=program, location=location, partner_id=location.partner_id,
        status=ApplicationStatus(status), invitation=invitation, invited_at=now,
        invitation_expires_at=now + timedelta(days=30),
    )
    if invitation is not None:
        await InvitationApplication.create(invitation=invitation, application=app)
    return app


# --- a real server ----------------------------------------------------------------------


class ServerProcess:
    """``smbselect serve`` in a subprocess on a free loopback port, as a user would start it.

    ``env`` adds SMBSELECT_* settings; the process is stopped (SIGTERM, then SIGKILL) on exit.
    """

    def __init__(self, env: dict[str, str], cwd: str | None = None, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.cwd = cwd
        self.workers = workers
        self.process: Any = None
        self.log_path: str | None = None

    async def __aenter__(self) -> ServerProcess:
        import os
        import subprocess
        import sys
        import tempfile
        from pathlib import Path

        script = Path(sys.executable).with_name("smbselect")
        env = {**os.environ, **self.env}
        log = tempfile.NamedTemporaryFile(prefix="smbselect-serve-", suffix=".log", delete=False)
        self.log_path = log.name
        self.process = subprocess.Popen(
            [str(script), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers)],
            env=env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"smbselect serve exited: {self.log()}")
                try:
                    if (await http.get(f"{self.url}/readyz", timeout=1)).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        await self.__aexit__()
        raise RuntimeError(f"smbselect serve did not become ready: {self.log()}")

    async def __aexit__(self, *exc: object) -> None:
        import signal
        import subprocess

        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def log(self) -> str:
        from pathlib import Path

        return Path(self.log_path).read_text(errors="replace")[-4000:] if self.log_path else ""


class _StatementLog(logging.Handler):
    """Keeps the SQL statements of tortoise's debug log records."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if is_sql_statement(record):
            self.sink.append(record.getMessage())


class SqlCounter:
    """Counts the SQL statements tortoise sends while active (``with SqlCounter() as c``).

    It listens to tortoise's debug log of every query, so it counts what really reaches
    the database, whatever code issued it.
    """

    def __init__(self) -> None:
        self.statements: list[str] = []
        self._logger = logging.getLogger("tortoise.db_client")
        self._handler = _StatementLog(self.statements)
        self._level = self._logger.level

    def __enter__(self) -> SqlCounter:
        self._logger.addHandler(self._handler)
        self._logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self._handler)
        self._logger.setLevel(self._level)

    @property
    def count(self) -> int:
        return len(self.statements)
