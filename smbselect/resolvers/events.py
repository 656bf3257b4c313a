"""The audit trail: one ApplicationEvent per step, in the same transaction as the step."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from smbselect.db.enums import ApplicationEventKind, ApplicationStatus
from smbselect.db.models import Application, ApplicationEvent, User


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


async def record(
    conn: Any,
    application: Application,
    kind: ApplicationEventKind,
    actor: User | None,
    *,
    from_status: ApplicationStatus | None = None,
    to_status: ApplicationStatus | None = None,
    comment: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> ApplicationEvent:
    """Append an event; the actor's name and role are copied so the trail survives renames.

    ``actor`` None means the system itself (an expiry, say).
    """
    real_actor = actor if actor is not None and getattr(actor, "id", 0) else None
    return await ApplicationEvent.create(
        application_id=application.id,
        round=application.round,
        occurred_at=at or utcnow(),
        actor_id=real_actor.id if real_actor else None,
        actor_name=real_actor.name if real_actor else None,
        actor_role=real_actor.role if real_actor else None,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        comment=comment,
        data=data or {},
        using_db=conn,
    )
