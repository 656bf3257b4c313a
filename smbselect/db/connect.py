"""Opening, migrating and closing the database."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.migrations.api import migrate as tortoise_migrate

from smbselect.db import rows, search
from smbselect.db.config import tortoise_config


async def apply_migrations(database_url: str) -> None:
    """Apply every pending migration (what ``smbselect migrate`` does).

    Leaves tortoise closed: callers open it again with :func:`open_db`.
    """
    await tortoise_migrate(config=tortoise_config(database_url))
    await Tortoise.close_connections()


async def open_db(database_url: str) -> None:
    """Initialise tortoise for this process.

    The global fallback is on because the app initialises tortoise inside Starlette's
    lifespan, a different task from the requests' (see ARCHITECTURE.md).
    """
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)
    rows.forget_plans()
    search.forget()


async def close_db() -> None:
    await Tortoise.close_connections()
