"""Fixtures: a migrated database, a real SMTP server, settings, the app and a GraphQL client.

The database is chosen by ``SMBSELECT_TEST_DATABASE``: unset or ``sqlite`` for a temporary
SQLite file, or a PostgreSQL server URL (``postgres://postgres@127.0.0.1:5432/``) in which
a database is created for the run and dropped after it. It is migrated once per run with
the real migrations and emptied before each test.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from smbselect import testing
from smbselect.db.connect import apply_migrations, close_db, open_db
from smbselect.settings import Settings

from smbselect.testing import ADMIN_PASSWORD, PARTNER_PASSWORD


@pytest_asyncio.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    choice = os.environ.get("SMBSELECT_TEST_DATABASE", "sqlite")
    if choice.startswith("postgres"):
        url = await testing.create_pg_database(choice)
    else:
        url = f"sqlite://{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    await apply_migrations(url)
    await open_db(url)
    try:
        yield url
    finally:
        await close_db()
        if url.startswith("postgres"):
            await testing.drop_pg_database(url)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[testing.SmtpCatcher]:
    server = testing.SmtpCatcher()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server: testing.SmtpCatcher) -> Iterator[testing.SmtpCatcher]:
    """The session's SMTP server, emptied and answering normally for this test."""
    smtp_server.messages.clear()
    smtp_server.reply = None
    if smtp_server._controller is None:
        smtp_server.start()
    yield smtp_server
    smtp_server.reply = None
    if smtp_server._controller is None:
        smtp_server.start()


@pytest.fixture
def settings(database_url: str, smtp_server: testing.SmtpCatcher, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        secret_key="test-secret-key",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        data_dir=tmp_path / "data",
        public_url="http://testserver",
        app_url="http://app.test",
        support_email="support@smbselect.test",
        mail_from="SMB Select <noreply@smbselect.test>",
    )


@pytest_asyncio.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    """An empty, migrated database for this test."""
    await testing.truncate_all()
    yield database_url


@pytest_asyncio.fixture
async def app(db: str, settings: Settings):  # type: ignore[no-untyped-def]
    """The real ASGI app over the test database, programs synced; the mail relay is driven
    by the tests (``app.state.relay.drain_once()``) instead of running in the background."""
    from smbselect.app import create_app
    from smbselect.resolvers.programs import sync_programs

    application = create_app(settings, manage_db=False, run_relay=False)
    await sync_programs(application.state.plugins)
    return application


@pytest_asyncio.fixture
async def client(app) -> AsyncIterator[testing.GraphQLClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield testing.GraphQLClient(http)


@pytest_asyncio.fixture
async def world(db: str) -> dict:  # type: ignore[type-arg]
    """Two partners: Equant (China, Austria) and Nordic (Oslo); an admin; Li acts for both
    Equant locations, Mei only for China; certified and uncertified staff."""
    from datetime import date, timedelta

    from smbselect.db.enums import UserRole

    admin = await testing.make_user("admin", role=UserRole.ADMIN, password=ADMIN_PASSWORD)
    equant = await testing.make_partner("Equant")
    china = await testing.make_location(equant, "Equant China", "CN")
    austria = await testing.make_location(equant, "Equant Austria", "AT")
    nordic = await testing.make_partner("Nordic Networks")
    oslo = await testing.make_location(nordic, "Nordic Oslo", "NO")
    li = await testing.make_user("li.wei", partner=equant, password=PARTNER_PASSWORD,
                                 acts_for=[china, austria])
    mei = await testing.make_user("mei.lin", partner=equant, password=PARTNER_PASSWORD,
                                  acts_for=[china])
    chen = await testing.make_user("chen.jing", partner=equant, staff_of=[china],
                                   certifications={"CSE": None})
    anna = await testing.make_user("anna.huber", partner=equant, staff_of=[austria],
                                   certifications={"CSA": date.today() + timedelta(days=30)})
    ole = await testing.make_user("ole.hansen", partner=nordic, password=PARTNER_PASSWORD,
                                  acts_for=[oslo], staff_of=[oslo], certifications={"CSE": None})
    return {
        "admin": admin, "equant": equant, "china": china, "austria": austria,
        "nordic": nordic, "oslo": oslo, "li": li, "mei": mei, "chen": chen, "anna": anna,
        "ole": ole,
    }
