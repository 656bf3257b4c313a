"""The per-request batch loader: one batch per event-loop turn, values in the order asked,
failures seen by every waiter, and a cancelled waiter cancels nobody else."""

from __future__ import annotations

import asyncio

import pytest

from smbselect.resolvers.loaders import MISSING, BatchLoader


class Source:
    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.fail = fail
        self.gate: asyncio.Event | None = None

    async def __call__(self, keys: list[int]) -> list[str]:
        self.batches.append(list(keys))
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise LookupError("the database is away")
        return [f"v{k}" for k in keys]


async def test_load_many_batches_the_missing_keys_once_in_order() -> None:
    source = Source()
    loader = BatchLoader(source)
    assert await loader.load(2) == "v2"
    values, single = await asyncio.gather(loader.load_many([3, 2, 3, 1]), loader.load(4))
    assert values == ["v3", "v2", "v3", "v1"]  # duplicates and order kept
    assert single == "v4"
    assert [sorted(b) for b in source.batches] == [[2], [1, 3, 4]]  # 2 was cached; one batch for the turn
    assert await loader.load_many([1, 4]) == ["v1", "v4"] and len(source.batches) == 2
    assert loader.peek(3) == "v3" and loader.peek(9) is MISSING


async def test_a_failed_batch_reaches_every_waiter_and_is_tried_again() -> None:
    source = Source(fail=True)
    loader = BatchLoader(source)
    results = await asyncio.gather(loader.load_many([1, 2]), loader.load(2), return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results)
    source.fail = False
    assert await loader.load_many([2, 1]) == ["v2", "v1"]  # not cached as a failure
    assert [sorted(b) for b in source.batches] == [[1, 2], [1, 2]]


async def test_a_cancelled_waiter_leaves_the_others_their_values() -> None:
    source = Source()
    source.gate = asyncio.Event()
    loader = BatchLoader(source)
    first = asyncio.ensure_future(loader.load_many([1, 2]))
    second = asyncio.ensure_future(loader.load_many([2, 3]))
    await asyncio.sleep(0.01)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    source.gate.set()
    assert await second == ["v2", "v3"]
    assert await loader.load(1) == "v1"


async def test_load_many_waits_for_keys_of_two_batches_and_primed_ones() -> None:
    """``load_many`` waits for the batches its keys are in (one still running from an
    earlier turn, one of its own), and takes primed values as they are."""
    source = Source()
    source.gate = asyncio.Event()
    loader = BatchLoader(source)
    loader.prime(9, "primed")
    early = asyncio.ensure_future(loader.load_many([1, 2]))
    await asyncio.sleep(0.01)  # the first batch is running, held at the gate
    later = asyncio.ensure_future(loader.load_many([2, 3, 9, 1]))
    await asyncio.sleep(0.01)
    assert not later.done()
    source.gate.set()
    assert await later == ["v2", "v3", "primed", "v1"]
    assert await early == ["v1", "v2"]
    assert source.batches == [[1, 2], [3]]


async def test_a_batch_that_gives_up_leaves_no_waiter_hanging() -> None:
    """A batch function that is cancelled, or answers the wrong number of values, ends every
    wait for it (cancelled, or with the error) instead of leaving them pending forever."""

    async def cancelled(keys: list[int]) -> list[str]:
        raise asyncio.CancelledError

    async def short(keys: list[int]) -> list[str]:
        return ["only one"]

    loader = BatchLoader(cancelled)
    waits = [asyncio.ensure_future(loader.load(1)), asyncio.ensure_future(loader.load_many([1, 2]))]
    done, pending = await asyncio.wait(waits, timeout=1)
    assert not pending and all(w.cancelled() for w in done)
    loader = BatchLoader(short)
    results = await asyncio.wait_for(asyncio.gather(loader.load(1), loader.load_many([1, 2]),
                                                    return_exceptions=True), 1)
    assert all(isinstance(r, ValueError) for r in results)
    assert loader.peek(1) is MISSING


async def test_a_batch_that_failed_before_its_wait_began_is_asked_again() -> None:
    """``load_many`` queues its keys when called; if their batch fails before the caller
    awaits, the wait asks again (and reports that batch's error, if any), never a KeyError."""
    source = Source(fail=True)
    loader = BatchLoader(source)
    read = loader.load_many([1, 2])
    await asyncio.sleep(0.01)  # the batch ran and failed, nobody waiting
    source.fail = False
    assert await read == ["v1", "v2"]
    source.fail = True
    read = loader.load_many([3])
    await asyncio.sleep(0.01)
    with pytest.raises(LookupError):
        await read
    assert [sorted(b) for b in source.batches] == [[1, 2], [1, 2], [3], [3]]
