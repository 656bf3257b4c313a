"""The ``smbselect`` command line: serve, migrate, worker, create-admin, demo, schema, plugins."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from pydantic import ValidationError

from smbselect.settings import Settings, get_settings

T = TypeVar("T")


def settings_or_exit() -> Settings:
    """The settings, or a one-line-per-problem message naming the variables to fix (exit 1)
    instead of a traceback."""
    try:
        return get_settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = "SMBSELECT_" + "_".join(str(part) for part in error["loc"]).upper()
            lines.append(f"  {name}: {error['msg'].removeprefix('Value error, ')}")
        raise click.ClickException("invalid settings:\n" + "\n".join(lines)) from None


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(coro_fn())  # type: ignore[arg-type]


def setup_logging(settings: Settings) -> None:
    from smbselect.logs import configure_logging

    configure_logging(settings)


@click.group()
@click.version_option(package_name="smbselect")
def main() -> None:
    """smbselect: invitation-based partner programs over GraphQL."""


@main.command()
def migrate() -> None:
    """Apply pending database migrations (SMBSELECT_DATABASE_URL)."""
    from smbselect.db.connect import apply_migrations

    settings = settings_or_exit()
    setup_logging(settings)
    run(lambda: apply_migrations(settings.database_url))
    click.echo("Database is up to date.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option("--no-migrate", is_flag=True, help="Do not apply pending migrations first.")
def serve(host: str, port: int, workers: int, no_migrate: bool) -> None:
    """Apply pending migrations and serve the API (and GraphiQL) with uvicorn."""
    import uvicorn

    from smbselect.db.connect import apply_migrations
    from smbselect.plugins.manager import PluginError, Plugins

    settings = settings_or_exit()
    setup_logging(settings)
    try:
        Plugins.load(settings.plugins).programs()
    except PluginError as exc:
        raise click.ClickException(f"cannot start: {exc}") from exc
    if not no_migrate:
        run(lambda: apply_migrations(settings.database_url))
    click.echo(f"smbselect serving on http://{host}:{port}/graphql")
    uvicorn.run(
        "smbselect.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=False,
        lifespan="on",
    )


@main.command()
def worker() -> None:
    """Run the mail relay, the observers' feed and invitation expiry apart from the API."""
    from smbselect.db.connect import close_db, open_db
    from smbselect.mail.relay import MailRelay
    from smbselect.plugins.manager import Plugins
    from smbselect.resolvers.invitations import expiry_loop
    from smbselect.resolvers.observers import EventDispatcher

    settings = settings_or_exit()
    setup_logging(settings)

    async def go() -> None:
        await open_db(settings.database_url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        click.echo("smbselect worker: relaying the outbox and feeding observers (Ctrl+C to stop)")
        dispatcher = EventDispatcher(Plugins.load(settings.plugins), settings.mail_poll_seconds)
        try:
            await asyncio.gather(MailRelay(settings).run(stop), dispatcher.run(stop), expiry_loop(stop))
        finally:
            await close_db()

    run(go)


@main.command("create-admin")
@click.option("--username", prompt=True)
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_admin(username: str, email: str, name: str, password: str) -> None:
    """Create an admin account (prompts for whatever is not given)."""
    from smbselect.db.connect import apply_migrations, close_db, open_db
    from smbselect.devtools import create_admin_account

    settings = settings_or_exit()

    async def go() -> list[str]:
        await apply_migrations(settings.database_url)
        await open_db(settings.database_url)
        try:
            return await create_admin_account(settings, username, email, name, password)
        finally:
            await close_db()

    problems = run(go)
    if problems:
        raise click.ClickException("; ".join(problems))
    click.echo(f"Admin '{username.strip().casefold()}' created.")


@main.command()
def demo() -> None:
    """Load a small, realistic data set (Equant China and Austria) and print the logins."""
    from smbselect.db.connect import apply_migrations, close_db, open_db
    from smbselect.demo import load_demo

    settings = settings_or_exit()

    async def go() -> list[tuple[str, str, str]]:
        await apply_migrations(settings.database_url)
        await open_db(settings.database_url)
        try:
            return await load_demo(settings)
        finally:
            await close_db()

    logins = run(go)
    click.echo("Demo data loaded. Logins (username / password / who):")
    for username, password, who in logins:
        click.echo(f"  {username:<16} {password:<22} {who}")
    click.echo("Open http://127.0.0.1:8000/graphql, run the login mutation, then add the header")
    click.echo('  {"Authorization": "Bearer <token>"}')


@main.command()
def schema() -> None:
    """Print the GraphQL schema (SDL)."""
    from smbselect.schema.root import schema as gql_schema

    click.echo(gql_schema.as_str())


@main.command()
def plugins() -> None:
    """List the loaded plugins and the programs each owns."""
    from smbselect.plugins.manager import PluginError, Plugins

    settings = settings_or_exit()
    try:
        loaded = Plugins.load(settings.plugins)
        owned = loaded.programs_by_plugin()
    except PluginError as exc:
        raise click.ClickException(str(exc)) from exc
    for name in loaded.plugin_names():
        programs = ", ".join(owned.get(name, [])) or "-"
        click.echo(f"{name}: {programs}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
