"""Programs: keeping the ``program`` table in step with the plugins, and reading definitions.

The plugins are the truth about a program while they provide it; the table is what lets
invitations and applications point at a program with a foreign key, and what keeps a
program readable (with the definition it last had) after its plugin is removed. Called at
start-up (``smbselect serve`` / ``smbselect migrate``) and by tests; not a GraphQL
mutation, so it takes the plugins, not a Context.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from smbselect.context import Context
from smbselect.db.models import Program
from smbselect.plugins.definitions import ProgramDef
from smbselect.plugins.manager import Plugins, ProgramUnavailable
from smbselect.resolvers.access import require_user

logger = logging.getLogger("smbselect.plugins")


async def sync_programs(plugins: Plugins) -> None:
    """Upsert every program the plugins provide (active) and deactivate the ones they don't.

    One transaction: a reader never sees half the plugins' programs. The plugins are
    asked (and validated) before it opens, so a broken plugin writes nothing. Rows are
    never deleted: invitations and applications keep pointing at them.
    """
    live = plugins.programs()
    owners = {code: plugins.owner(code) for code in live}
    async with in_transaction() as conn:
        stored = {p.code: p for p in await Program.all().using_db(conn)}
        for code, definition in live.items():
            data = definition.to_json()
            row = stored.get(code)
            if row is None:
                await Program.create(
                    code=code, name=definition.name, plugin=owners[code], definition=data,
                    active=True, using_db=conn,
                )
                logger.info("program %r added by plugin %r", code, owners[code])
                continue
            if not row.active:
                logger.info("program %r provided again by plugin %r", code, owners[code])
            row.name = definition.name
            row.plugin = owners[code]
            row.definition = data
            row.active = True
            await row.save(using_db=conn)
        vanished = [code for code, row in stored.items() if row.active and code not in live]
        if vanished:
            await Program.filter(code__in=vanished).using_db(conn).update(active=False)
            for code in vanished:
                logger.warning(
                    "program %r is no longer provided by plugin %r: inactive",
                    code, stored[code].plugin,
                )


def definition_of(program: Program, plugins: Plugins) -> ProgramDef:
    """The program's live definition while a plugin provides it, else the stored one.

    Live first, because a plugin upgraded since the last sync (new terms, say) is what the
    rule hooks answer for; the stored copy is only the memory of a program that is gone.
    """
    try:
        return plugins.program(program.code)
    except ProgramUnavailable:
        return ProgramDef.from_json(program.definition)


# --- reading programs for the API ---------------------------------------------------------


@dataclass(frozen=True)
class ProgramView:
    """A program as the API shows it: its row's id and state with its definition."""

    id: int
    active: bool
    definition: ProgramDef
    support_email: str


def view_of(row: Program, ctx: Context) -> ProgramView:
    definition = definition_of(row, ctx.plugins)
    return ProgramView(
        id=row.id,
        active=row.active,
        definition=definition,
        support_email=definition.support_email or ctx.settings.support_email,
    )


async def list_programs(ctx: Context) -> list[ProgramView]:
    """Every program, active ones first (anyone logged in may read the catalogue)."""
    require_user(ctx)
    rows = await Program.all().order_by("-active", "name", "id")
    return [view_of(r, ctx) for r in rows]


async def get_program(ctx: Context, program_id: int) -> ProgramView | None:
    require_user(ctx)
    row = await Program.get_or_none(id=program_id)
    return view_of(row, ctx) if row else None
