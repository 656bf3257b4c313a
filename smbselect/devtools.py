"""Account helpers shared by the command line and the demo."""

from __future__ import annotations

from smbselect.context import Context
from smbselect.db.enums import UserRole
from smbselect.errors import DomainError
from smbselect.resolvers import registry
from smbselect.settings import Settings


class _System:
    """Stands in for an admin when the command line acts (no HTTP, no session)."""

    role = UserRole.ADMIN
    id = 0
    partner_id = None


def system_context(settings: Settings) -> Context:
    from smbselect.plugins.manager import Plugins

    return Context(settings=settings, plugins=Plugins.load(settings.plugins), user=_System())  # type: ignore[arg-type]


async def create_admin_account(
    settings: Settings, username: str, email: str, name: str, password: str
) -> list[str]:
    """Create an admin through the same validation as userCreate; return the problems."""
    data = registry.UserInput(
        username=username, email=email, name=name, role=UserRole.ADMIN, partner_id=None,
        partner_id_given=False, password=password, location_ids=[], staff_location_ids=[],
    )
    try:
        await registry.user_create(system_context(settings), data)
    except DomainError as error:
        return [f"{p.field[-1] if p.field else 'input'}: {p.message}" for p in error.problems]
    return []
