"""Per-request batch loaders: every nested list of a page is fetched in one query.

A tiny DataLoader (strawberry's lives in the schema layer, which resolvers may not import):
keys asked for in the same event-loop turn are loaded together, and results are cached
for the rest of the request in ``Context.cache``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

from smbselect.context import Context
from smbselect.db.models import (
    Certification,
    Document,
    Location,
    LocationMember,
    LocationStaff,
    Partner,
    User,
)
from smbselect.db.rows import pairs_where_in, rows_where_in

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""What :meth:`BatchLoader.peek` answers for a value this request has not loaded yet."""


class BatchLoader(Generic[K, V]):
    def __init__(self, batch: Callable[[list[K]], Awaitable[Sequence[V]]]) -> None:
        self._batch = batch
        self._cache: dict[K, asyncio.Future[V]] = {}
        self._pending: list[K] = []
        # The keys of the batches in flight, each with its batch's end: ``load_many`` waits
        # for the few batches its keys are in, not for each key's future.
        self._in_flight: dict[K, asyncio.Future[None]] = {}
        self._pending_done: asyncio.Future[None] | None = None

    def load(self, key: K) -> Awaitable[V]:
        """The value of ``key``, shielded: the cached future is shared by every field that
        asks, and a cancelled waiter (graphql-core cancels the siblings of a field whose
        error nulls their parent) would otherwise cancel it for all the others, whose
        CancelledError then escapes the executor and kills the request."""
        if key in self._cache:
            return asyncio.shield(self._cache[key])
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._cache[key] = future
        self._queue([key])
        return asyncio.shield(future)

    def peek(self, key: K) -> V:
        """The value of ``key`` if this request has it already, else ``MISSING``: lets a
        field answer without a coroutine (graphql-core makes a task of each awaitable
        field; on a page of 50 rows those tasks cost more than the data)."""
        future = self._cache.get(key)
        if future is None or not future.done() or future.cancelled() or future.exception() is not None:
            return MISSING
        return future.result()

    def prime(self, key: K, value: V) -> None:
        """Remember a value loaded some other way (a joined row), unless one is cached."""
        if key not in self._cache:
            future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
            future.set_result(value)
            self._cache[key] = future

    async def load_many(self, keys: Sequence[K]) -> list[V]:
        """The values of ``keys``, in order: one batch for the missing ones, and one wait
        (shielded as in :meth:`load`) for all of them, not a future, a shield and a task
        per key (a page's prefetch asks for hundreds)."""
        cache = self._cache
        missing = [key for key in dict.fromkeys(keys) if key not in cache]
        if missing:
            loop = asyncio.get_running_loop()
            for key in missing:
                cache[key] = loop.create_future()
            self._queue(missing)
        futures = [cache[key] for key in keys]  # held: a failed batch leaves the cache
        in_flight = self._in_flight
        batches = {id(done): done for key, f in zip(keys, futures) if not f.done()
                   for done in (in_flight.get(key),) if done is not None}
        if batches:
            # A batch's end, not each key's future: a page's prefetch asks for hundreds of
            # keys, and gathering their futures cost a callback each.
            await asyncio.shield(next(iter(batches.values())) if len(batches) == 1
                                 else asyncio.gather(*batches.values()))
        waiting = {id(f): f for f in futures if not f.done()}  # loaded some other way (prime)
        if waiting:
            await asyncio.shield(asyncio.gather(*waiting.values()))
        return [future.result() for future in futures]

    def _queue(self, keys: list[K]) -> None:
        """Add keys (their futures made) to the next batch, dispatched at the loop's next turn."""
        loop = asyncio.get_running_loop()
        if not self._pending:
            self._pending_done = loop.create_future()
            loop.call_soon(lambda: asyncio.ensure_future(self._dispatch()))
        done = self._pending_done
        assert done is not None
        self._pending.extend(keys)
        for key in keys:
            self._in_flight[key] = done

    async def _dispatch(self) -> None:
        keys, self._pending = self._pending, []
        done, self._pending_done = self._pending_done, None
        try:
            try:
                values = await self._batch(keys)
            except Exception as exc:  # every waiter sees the failure
                for key in keys:
                    self._cache.pop(key).set_exception(exc)
                return
            for key, value in zip(keys, values, strict=True):
                self._cache[key].set_result(value)
        finally:
            for key in keys:
                self._in_flight.pop(key, None)
            if done is not None and not done.done():
                done.set_result(None)


def loader(ctx: Context, name: str, batch: Callable[[list[Any]], Awaitable[Sequence[Any]]]) -> BatchLoader[Any, Any]:
    key = ("loader", name)
    if key not in ctx.cache:
        ctx.cache[key] = BatchLoader(batch)
    return ctx.cache[key]


async def _by_id(model: type[Any], ids: list[int]) -> list[Any]:
    rows = {r.id: r for r in await rows_where_in(model, "id", ids)}
    return [rows.get(i) for i in ids]


async def _grouped(rows: Sequence[Any], key: str, ids: list[int]) -> list[list[Any]]:
    groups: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, key)].append(row)
    return [groups.get(i, []) for i in ids]


def partner_by_id(ctx: Context) -> BatchLoader[int, Partner | None]:
    return loader(ctx, "partner_by_id", lambda ids: _by_id(Partner, ids))


def location_by_id(ctx: Context) -> BatchLoader[int, Location | None]:
    return loader(ctx, "location_by_id", lambda ids: _by_id(Location, ids))


def user_by_id(ctx: Context) -> BatchLoader[int, User | None]:
    return loader(ctx, "user_by_id", lambda ids: _by_id(User, ids))


def locations_of_partner(ctx: Context) -> BatchLoader[int, list[Location]]:
    async def batch(ids: list[int]) -> list[list[Location]]:
        rows = await rows_where_in(Location, "partner_id", ids, order_by=("name_fold", "id"))
        return await _grouped(rows, "partner_id", ids)

    return loader(ctx, "locations_of_partner", batch)


def _links(model: type[LocationMember] | type[LocationStaff], by: str, other: str,
           target: type[Any], order: str) -> Callable[[list[int]], Awaitable[list[list[Any]]]]:
    async def batch(ids: list[int]) -> list[list[Any]]:
        pairs = await pairs_where_in(model, by, ids, (by, other))
        keys_by_target: dict[int, list[int]] = defaultdict(list)
        for key, other_id in pairs:
            keys_by_target[other_id].append(key)
        groups: dict[int, list[Any]] = defaultdict(list)
        for row in await rows_where_in(target, "id", list(keys_by_target), order_by=(order, "id")):
            for key in keys_by_target[row.id]:
                groups[key].append(row)
        return [groups.get(i, []) for i in ids]

    return batch


def member_locations(ctx: Context) -> BatchLoader[int, list[Location]]:
    """Locations each user acts for."""
    return loader(ctx, "member_locations", _links(LocationMember, "user_id", "location_id", Location, "name_fold"))


def staff_locations(ctx: Context) -> BatchLoader[int, list[Location]]:
    """Locations where each user is staff."""
    return loader(ctx, "staff_locations", _links(LocationStaff, "user_id", "location_id", Location, "name_fold"))


def location_members(ctx: Context) -> BatchLoader[int, list[User]]:
    """Users who act for each location."""
    return loader(ctx, "location_members", _links(LocationMember, "location_id", "user_id", User, "search_fold"))


def certifications_of(ctx: Context) -> BatchLoader[int, list[Certification]]:
    async def batch(ids: list[int]) -> list[list[Certification]]:
        rows = await rows_where_in(Certification, "user_id", ids, order_by=("code",))
        return await _grouped(rows, "user_id", ids)

    return loader(ctx, "certifications_of", batch)


def documents_of(ctx: Context) -> BatchLoader[int, list[Document]]:
    """Every upload of each application, superseded ones included, oldest first (the
    Documents list shows them all; the rules look at the current ones)."""
    async def batch(ids: list[int]) -> list[list[Document]]:
        rows = await rows_where_in(Document, "application_id", ids, order_by=("uploaded_at", "id"))
        return await _grouped(rows, "application_id", ids)

    return loader(ctx, "documents_of", batch)
