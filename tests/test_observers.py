"""Observers (smbselect_event) are fed from the audit trail after commit, at least once."""

from __future__ import annotations

from smbselect import ids, testing
from smbselect.db.models import ApplicationEvent
from smbselect.plugins import hookimpl
from smbselect.resolvers.observers import EventDispatcher
from smbselect.testing import PARTNER_PASSWORD

START = "mutation($id: ID!) { applicationStart(input: {applicationId: $id}) { application { status } userErrors { code } } }"


class Recorder:
    """An async observer that can be told to fail."""

    def __init__(self) -> None:
        self.seen: list[dict] = []
        self.fail = False

    @hookimpl
    async def smbselect_event(self, event: dict) -> None:
        if self.fail:
            raise RuntimeError("CRM is down")
        self.seen.append(event)


async def _start_one(client, world) -> int:
    row = await testing.make_application("SMB_SELECT", world["china"])
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    result = await li.data(START, {"id": ids.encode("Application", row.id)})
    assert result["applicationStart"]["userErrors"] == []
    return row.id


async def test_observer_gets_each_event_after_commit(client, world, app):
    recorder = Recorder()
    plugins = app.state.plugins
    plugins.register(recorder, "recorder")
    try:
        app_id = await _start_one(client, world)
        # nothing is delivered inside the request
        assert recorder.seen == []
        delivered = await EventDispatcher(plugins).dispatch_once()
        assert delivered == 1
        [event] = recorder.seen
        assert event["kind"] == "STARTED" and event["application_id"] == app_id
        assert event["program_code"] == "SMB_SELECT" and event["to_status"] == "NOT_SUBMITTED"
        assert event["actor"]["name"] == world["li"].name and isinstance(event["id"], int)
        # a second pass delivers nothing again
        assert await EventDispatcher(plugins).dispatch_once() == 0
        assert len(recorder.seen) == 1
    finally:
        plugins.unregister("recorder")


async def test_failing_observer_is_retried_and_blocks_nothing(client, world, app):
    recorder = Recorder()
    recorder.fail = True
    plugins = app.state.plugins
    plugins.register(recorder, "recorder")
    try:
        # the step itself succeeds although the observer is failing
        await _start_one(client, world)
        dispatcher = EventDispatcher(plugins)
        assert await dispatcher.dispatch_once() == 0
        assert await ApplicationEvent.filter(observed_at=None).count() == 1
        # once the observer recovers, the event arrives exactly once
        recorder.fail = False
        assert await dispatcher.dispatch_once() == 1
        assert [e["kind"] for e in recorder.seen] == ["STARTED"]
    finally:
        plugins.unregister("recorder")


async def test_events_committed_before_a_crash_are_delivered_after_restart(client, world, app):
    # given events committed while no dispatcher ran (the process died before delivery)
    await _start_one(client, world)
    assert await ApplicationEvent.filter(observed_at=None).count() == 1
    # when a new process starts its dispatcher
    recorder = Recorder()
    plugins = app.state.plugins
    plugins.register(recorder, "recorder")
    try:
        assert await EventDispatcher(plugins).dispatch_once() == 1
    finally:
        plugins.unregister("recorder")
    # then the observer got the event, marked as observed
    assert [e["kind"] for e in recorder.seen] == ["STARTED"]
    assert await ApplicationEvent.filter(observed_at=None).count() == 0
