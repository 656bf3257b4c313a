"""The migrations and the models agree, and the migrations run on this database."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from smbselect.db.config import APP_LABEL, tortoise_config


async def test_models_and_migrations_agree(database_url: str) -> None:
    # given the migrated test database and the models
    apps_config = tortoise_config(database_url)["apps"]
    # when tortoise's autodetector compares the models with the migration files
    detector = MigrationAutodetector(Tortoise.apps, apps_config)
    writers = await detector.changes()
    # then there is nothing left to write
    pending = [(w.app_label, [type(op).__name__ for op in w.operations]) for w in writers]
    assert pending == [], f"models changed without a migration: {pending}"


async def test_every_model_has_its_table(db: str) -> None:
    conn = Tortoise.get_connection("default")
    for model in Tortoise.apps[APP_LABEL].values():
        # a query on each table fails if the migration did not create it
        await conn.execute_query(f'SELECT COUNT(*) FROM "{model._meta.db_table}"')
