"""pytest fixtures for smbselect and for program owners' plugins (the testing kit).

Use them from a conftest.py with ``pytest_plugins = ["smbselect.pytest_plugin"]``:
``db`` (a migrated, empty database), ``smtp`` (a real SMTP server collecting email),
``settings``, ``app`` (the real ASGI app; drive mail with ``app.state.relay.drain_once()``),
``client`` (a GraphQL client over it), ``admin_client`` and ``partner_client`` (logged in),
and ``register_plugin`` (a plugin registered for one test only).

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




@pytest.fixture
def register_plugin(app):  # type: ignore[no-untyped-def]
    """``await register_plugin(obj)`` registers a plugin for this test (programs synced);
    it is unregistered, and the programs synced again, when the test ends."""
    from smbselect.resolvers.programs import sync_programs

    names: list[str] = []

    async def register(plugin: object, name: str | None = None) -> str:
        registered = app.state.plugins.register(plugin, name)
        names.append(registered)
        await sync_programs(app.state.plugins)
        return registered

    yield register
    for registered in names:
        app.state.plugins.unregister(registered)


@pytest_asyncio.fixture
async def admin_client(client: testing.GraphQLClient) -> testing.GraphQLClient:
    """A client logged in as a fresh admin (username ``kit.admin``)."""
    from smbselect.db.enums import UserRole

    await testing.make_user("kit.admin", role=UserRole.ADMIN, password=testing.ADMIN_PASSWORD)
    return await client.as_user("kit.admin", testing.ADMIN_PASSWORD)


@pytest_asyncio.fixture
async def partner_client(client: testing.GraphQLClient) -> testing.GraphQLClient:
    """A client logged in as a partner user who acts for the location "Kit Location" (AT)
    of the registered partner "Kit Partner"; ``partner_client.location`` is that location."""
    partner = await testing.make_partner("Kit Partner")
    location = await testing.make_location(partner, "Kit Location", "AT")
    await testing.make_user("kit.partner", partner=partner, password=testing.PARTNER_PASSWORD,
                            acts_for=[location])
    logged_in = await client.as_user("kit.partner", testing.PARTNER_PASSWORD)
    logged_in.location = location  # type: ignore[attr-defined]
    return logged_in
