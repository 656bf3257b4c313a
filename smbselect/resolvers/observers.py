"""Feeding the plugins' observers (``smbselect_event``) from the audit trail.

After commit, never inside the request: a pass picks events not yet observed, oldest
first, hands each to every observer, and only then marks it observed. A crash between
commit and delivery, or an observer that raises, leaves the event unmarked, so it is
delivered again later (at least once; each event carries its ``id`` so a consumer can drop
duplicates). An observer's failure never undoes or blocks the process: it only delays
the observers.

Several processes may run passes: each claims an event with a conditional update
(``observed_at`` still null) after delivering it, so a duplicate is possible across
processes under a race but an event is never lost.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Any

from smbselect.db.models import Application, ApplicationEvent, Program
from smbselect.plugins.manager import PluginError, Plugins

log = logging.getLogger("smbselect.observers")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def event_payload(event: ApplicationEvent, application: Application, program_code: str) -> dict[str, Any]:
    """The plain data an observer receives (JSON-friendly; no ORM objects)."""
    return {
        "id": event.id,
        "kind": event.kind.value,
        "occurred_at": event.occurred_at.isoformat(),
        "application_id": application.id,
        "program_code": program_code,
        "location_id": application.location_id,
        "partner_id": application.partner_id,
        "round": event.round,
        "actor": (
            {"id": event.actor_id, "name": event.actor_name,
             "role": event.actor_role.value if event.actor_role else None}
            if event.actor_name is not None else None
        ),
        "from_status": event.from_status.value if event.from_status else None,
        "to_status": event.to_status.value if event.to_status else None,
        "comment": event.comment,
        "data": dict(event.data or {}),
    }


class EventDispatcher:
    """Delivers unobserved events to the observers; one per process, like the mail relay."""

    def __init__(self, plugins: Plugins, poll_seconds: float = 2.0) -> None:
        self.plugins = plugins
        self.poll_seconds = poll_seconds
        self.failures = 0

    async def dispatch_once(self, limit: int = 100) -> int:
        """Deliver up to ``limit`` events, oldest first; stop at the first failure so the
        order is kept. Returns how many were delivered."""
        events = await ApplicationEvent.filter(observed_at=None).order_by("id").limit(limit)
        if not events:
            return 0
        apps = {a.id: a for a in await Application.filter(id__in={e.application_id for e in events})}
        codes = dict(await Program.filter(id__in={a.program_id for a in apps.values()}).values_list("id", "code"))
        delivered = 0
        for event in events:
            app = apps[event.application_id]
            try:
                await self.plugins.notify_event(event_payload(event, app, codes[app.program_id]))
            except PluginError as exc:
                self.failures += 1
                log.warning("observer failed on event %s (will retry): %s", event.id, exc)
                return delivered
            await ApplicationEvent.filter(id=event.id, observed_at=None).update(observed_at=utcnow())
            delivered += 1
        self.failures = 0
        return delivered

    async def run(self, stop: asyncio.Event) -> None:
        """Pass after pass until ``stop``; after failures, wait longer (up to a minute)."""
        while not stop.is_set():
            try:
                delivered = await self.dispatch_once()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the loop
                log.exception("observer dispatch failed")
                delivered = 0
            if delivered:
                continue
            delay = min(60.0, self.poll_seconds * (2 ** min(self.failures, 5)))
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass
