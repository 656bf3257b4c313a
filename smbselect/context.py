"""The per-request context handed to every resolver (and built by tests and the CLI too).

Plain Python: resolvers receive it without knowing about GraphQL or HTTP.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from smbselect.db.enums import UserRole
from smbselect.db.models import User
from smbselect.settings import Settings

if TYPE_CHECKING:
    from smbselect.plugins.manager import Plugins


@dataclass
class Context:
    """Who is asking, with what settings and plugins; per-request caches live in ``cache``."""

    settings: Settings
    plugins: Plugins
    user: User | None = None
    session_id: int | None = None
    client_ip: str | None = None
    request_id: str = field(default_factory=lambda: secrets.token_hex(8))  # 16 hex digits
    cache: dict[Any, Any] = field(default_factory=dict)
    # Set by the HTTP layer. strawberry's view reads both and sets ``response`` (its
    # temporal response, for headers and cookies); smbselect.graphql_http's short path
    # leaves it None, so no resolver may set headers through it.
    request: Any = None
    response: Any = None

    def release(self) -> None:
        """Drop the request's caches once it is answered. Its loaders' batch functions
        close over this context, a cycle that only the garbage collector would free, and
        with it every row, future and object they loaded (some 2,400 objects for a queue
        page), which made the collector's older generations slower for every request."""
        self.cache.clear()

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.role == UserRole.ADMIN

    @property
    def is_partner(self) -> bool:
        return self.user is not None and self.user.role == UserRole.PARTNER
