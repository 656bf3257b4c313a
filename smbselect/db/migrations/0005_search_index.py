"""Indexes for the substring search on partner and location names (issue 6).

PostgreSQL: GIN trigram indexes (pg_trgm) on partner.name_fold and location.name_fold; they
serve ``name_fold LIKE '%needle%'``. SQLite: FTS5 tables partner_fts and location_fts with the
trigram tokenizer, external content over the same columns (they index, the tables keep the
text), kept in sync by triggers and filled here from the existing rows. The name_fold columns
are already casefolded, so the trigrams are case-sensitive. smbselect/db/search.py queries them.

The SQL differs per database, which RunSQL cannot express (it runs one script everywhere), so
RunPython picks it from the connection's dialect. Each statement runs on its own: tortoise's
SQLite schema editor splits a script at every ";", which would cut the triggers' bodies.
Nothing of this is in the models' state, so the autodetector has nothing to compare.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

SEARCHED = ("partner", "location")


def _postgres_forward() -> list[str]:
    return ["CREATE EXTENSION IF NOT EXISTS pg_trgm"] + [
        f'CREATE INDEX "{t}_name_fold_trgm" ON "{t}" USING gin ("name_fold" gin_trgm_ops)'
        for t in SEARCHED
    ]


def _postgres_backward() -> list[str]:
    # pg_trgm stays: something else may use it, and dropping it needs more privileges.
    return [f'DROP INDEX IF EXISTS "{t}_name_fold_trgm"' for t in SEARCHED]


def _sqlite_forward() -> list[str]:
    out: list[str] = []
    for t in SEARCHED:
        fts = f"{t}_fts"
        delete_old = (
            f'INSERT INTO "{fts}"("{fts}", rowid, name_fold) '
            "VALUES ('delete', old.id, old.name_fold);"
        )
        insert_new = f'INSERT INTO "{fts}"(rowid, name_fold) VALUES (new.id, new.name_fold);'
        out += [
            f'CREATE VIRTUAL TABLE "{fts}" USING fts5(name_fold, content=\'{t}\', '
            f"content_rowid='id', tokenize='trigram case_sensitive 1')",
            f'CREATE TRIGGER "{fts}_insert" AFTER INSERT ON "{t}" BEGIN {insert_new} END',
            f'CREATE TRIGGER "{fts}_delete" AFTER DELETE ON "{t}" BEGIN {delete_old} END',
            f'CREATE TRIGGER "{fts}_update" AFTER UPDATE OF name_fold ON "{t}" '
            f"WHEN old.name_fold IS NOT new.name_fold BEGIN {delete_old} {insert_new} END",
            f'INSERT INTO "{fts}"("{fts}") VALUES (\'rebuild\')',
        ]
    return out


def _sqlite_backward() -> list[str]:
    out: list[str] = []
    for t in SEARCHED:
        fts = f"{t}_fts"
        events = ("insert", "delete", "update")
        out += [f'DROP TRIGGER IF EXISTS "{fts}_{event}"' for event in events]
        out.append(f'DROP TABLE IF EXISTS "{fts}"')
    return out


async def _run(schema_editor, statements: list[str]) -> None:
    for sql in statements:
        await schema_editor.client.execute_query(sql)


async def forward(apps, schema_editor) -> None:
    dialect = schema_editor.client.capabilities.dialect
    if dialect == "postgres":
        await _run(schema_editor, _postgres_forward())
    elif dialect == "sqlite":
        await _run(schema_editor, _sqlite_forward())
    # other databases: no index, smbselect.db.search falls back to a scan


async def backward(apps, schema_editor) -> None:
    dialect = schema_editor.client.capabilities.dialect
    if dialect == "postgres":
        await _run(schema_editor, _postgres_backward())
    elif dialect == "sqlite":
        await _run(schema_editor, _sqlite_backward())


class Migration(migrations.Migration):
    dependencies = [('models', '0004_foreign_key_indexes')]

    initial = False

    operations = [
        ops.RunPython(forward, reverse_code=backward),
    ]
