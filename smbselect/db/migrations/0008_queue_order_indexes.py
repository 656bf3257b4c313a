"""Indexes for every order of the application lists, in both directions.

The admins' list (the web app's queue screen) filters by one status or none and orders by
review due date, submission date, invitation date or partner name, ascending or
descending; smbselect.resolvers.pagination orders a nullable key as (nulls flag, key, id),
the flag written ``CASE WHEN key IS NULL THEN 1 ELSE 0 END`` with literal numbers, and a
key that is never null (invited_at, the partner's name) as (key, id). Without an index on
exactly that order the database sorted every matching application for each page: at
1,000,000 applications on PostgreSQL, 199 ms for the approval queue by submission date,
76 ms for all applications by invitation date, 64 ms for the approved ones by due date.

Descending pages keep nulls last and ties by id ascending, so they need their own index
(key DESC); a B-tree read backwards would give nulls first. Migration 0006 has the approval
queue's own by due date ascending: on PostgreSQL partial, for status IN (SUBMITTED,
CHANGES_REQUESTED), to which this adds the queue's other orders; on SQLite (status, flag,
due date), from which SQLite reads each status in order and stops at the page's end. On
SQLite this migration adds fewer indexes (see ``SQLITE``). The partner's name is served
by the index on partner.name_fold and the application.partner_id index, read in the
partner's order.
tortoise cannot declare an index on an expression, hence raw SQL, per database.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


def _flag(column: str) -> str:
    return f'(CASE WHEN "{column}" IS NULL THEN 1 ELSE 0 END)'


# SQLite's planner (3.40, with or without ANALYZE) reads the approval queue's two statuses
# from 0006's (status, flag, due date) index, each status in order with an early stop
# (0.3 ms at 400,000 applications), only while no other index could serve that WHERE: given
# any other (status, ...) index it took that one and sorted everything (10-114 ms), and given
# (flag, due date) it read the decided applications first (60-90 ms). So SQLite gets only
# the index no queue query can mistake; its other orders are sorted, as before.
SQLITE = ("application_invited_at_desc",)
QUEUE = "WHERE \"status\" IN ('SUBMITTED', 'CHANGES_REQUESTED')"
DIRECTIONS = (("asc", ""), ("desc", " DESC"))


def _indexes(dialect: str) -> dict[str, str]:
    """Index name -> what follows ``ON "application"``, for ``dialect``. SQLite appends the
    rowid (the id) to every index by itself; PostgreSQL gets it written."""
    tie = ', "id"' if dialect == "postgres" else ""
    # invited_at is never null: no flag. Many applications share it (one invitation invites
    # a whole partner), so the id is part of the order the index gives.
    keys = {column: f'{_flag(column)}, "{column}"' for column in ("review_due_on", "submitted_at")}
    keys["invited_at"] = '"invited_at"'
    out: dict[str, str] = {}
    for column, key in keys.items():
        for suffix, direction in DIRECTIONS:
            out[f"application_status_{column}_{suffix}"] = f'("status", {key}{direction}{tie})'
            out[f"application_{column}_{suffix}"] = f"({key}{direction}{tie})"
            if dialect == "postgres" and (column, suffix) != ("review_due_on", "asc"):
                # the approval queue's other orders, partial as 0006's application_review_queue
                out[f"application_queue_{column}_{suffix}"] = f"({key}{direction}{tie}) {QUEUE}"
    if dialect == "sqlite":
        return {name: spec for name, spec in out.items() if name in SQLITE}
    return out


async def forward(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    dialect = schema_editor.client.capabilities.dialect
    if dialect not in ("sqlite", "postgres"):
        return
    for name, spec in _indexes(dialect).items():
        await schema_editor.client.execute_query(f'CREATE INDEX "{name}" ON "application" {spec}')


async def backward(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    for name in _indexes("postgres"):
        await schema_editor.client.execute_query(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("models", "0007_email_indexes")]
    initial = False
    operations = [ops.RunPython(forward, reverse_code=backward)]
