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


class _Batch:
    """One batch of keys: filled during an event-loop turn, run at the next, and the
    futures of those who wait for it (each waiter its own: see :meth:`BatchLoader.load`)."""

    __slots__ = ("keys", "task", "waiters")

    def __init__(self) -> None:
        self.keys: list[Any] = []
        self.waiters: list[tuple[asyncio.Future[Any], Any]] = []  # (future, key or _ALL)
        self.task: asyncio.Task[None] | None = None  # held: the loop keeps weak references only


_ALL: Any = object()
"""A waiter of :meth:`BatchLoader.load_many`: woken with ``None`` when the batch ends."""


class _ManyRead:
    """The wait of :meth:`BatchLoader.load_many`, its coroutine made when it is awaited: one
    dropped on an error path before that is no "never awaited" coroutine."""

    __slots__ = ("keys", "loader")

    def __init__(self, loader: BatchLoader[Any, Any], keys: Sequence[Any]) -> None:
        self.loader, self.keys = loader, keys

    def __await__(self) -> Any:
        return self.loader._wait_many(self.keys).__await__()


class BatchLoader(Generic[K, V]):
    def __init__(self, batch: Callable[[list[K]], Awaitable[Sequence[V]]]) -> None:
        self._batch = batch
        self._values: dict[K, V] = {}
        self._in_flight: dict[K, _Batch] = {}  # keys asked for and not loaded yet, by batch
        self._next: _Batch | None = None  # the batch this turn's keys join

    def load(self, key: K) -> Awaitable[V]:
        """The value of ``key``.

        A key being loaded gets a future of the caller's own, set when its batch ends: a
        shared one could be cancelled by one waiter for all (graphql-core cancels the
        siblings of a field whose error nulls their parent, and their CancelledError would
        escape the executor and kill the request). It is set directly, not through
        ``asyncio.shield``, whose callback cost an event-loop turn per wait."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V] = loop.create_future()
        if key in self._values:
            future.set_result(self._values[key])
            return future
        batch = self._in_flight.get(key)
        if batch is None:
            batch = self._queue([key])
        batch.waiters.append((future, key))
        return future

    def peek(self, key: K) -> V:
        """The value of ``key`` if this request has it already, else ``MISSING``: lets a
        field answer without a coroutine (graphql-core makes a task of each awaitable
        field; on a page of 50 rows those tasks cost more than the data)."""
        return self._values.get(key, MISSING)

    def prime(self, key: K, value: V) -> None:
        """Remember a value loaded some other way (a joined row), unless one is cached or
        being loaded."""
        if key not in self._values and key not in self._in_flight:
            self._values[key] = value

    def load_many(self, keys: Sequence[K]) -> Awaitable[list[V]]:
        """The values of ``keys``, in order: one batch for the missing ones, and one wait per
        batch they are in (a page's prefetch asks for hundreds), not a future per key.

        The missing keys join the batch when this is called, not when it is awaited: loads of
        several loaders asked for one after the other run in the same turn, without a task
        each (``asyncio.gather``) to get there."""
        values, in_flight = self._values, self._in_flight
        missing = [key for key in dict.fromkeys(keys) if key not in values and key not in in_flight]
        if missing:
            self._queue(missing)
        return _ManyRead(self, keys)

    async def _wait_many(self, keys: Sequence[K]) -> list[V]:
        values, in_flight = self._values, self._in_flight
        failed = [key for key in dict.fromkeys(keys) if key not in values and key not in in_flight]
        if failed:  # their batch failed before this wait began (nobody waited): asked again
            self._queue(failed)
        batches = {id(batch): batch for key in keys if key not in values
                   for batch in (in_flight.get(key),) if batch is not None}
        if batches:  # one, but for keys still loading from an earlier turn
            loop = asyncio.get_running_loop()
            futures: list[asyncio.Future[None]] = []
            for batch in batches.values():  # all registered before any wait: each may end first
                futures.append(loop.create_future())
                batch.waiters.append((futures[-1], _ALL))
            try:
                for future in futures:
                    await future
            except BaseException:  # cancelled or failed: the batches still running need no waiter
                for future in futures:
                    future.cancel()
                raise
        return [values[key] for key in keys]

    def _queue(self, keys: list[K]) -> _Batch:
        """Add keys to the next batch, dispatched at the loop's next turn (so that the keys
        of every field resolved in this turn join it)."""
        batch = self._next
        if batch is None:
            batch = self._next = _Batch()
            asyncio.get_running_loop().call_soon(self._start, batch)
        batch.keys.extend(keys)
        for key in keys:
            self._in_flight[key] = batch
        return batch

    def _start(self, batch: _Batch) -> None:
        batch.task = asyncio.get_running_loop().create_task(self._dispatch(batch))

    async def _dispatch(self, batch: _Batch) -> None:
        # The batch closes when its task first runs, a turn after _start: the keys of tasks
        # woken in _start's turn (gather's, a page's fields) join it too.
        if self._next is batch:
            self._next = None
        keys = batch.keys
        try:
            found = list(zip(keys, await self._batch(keys), strict=True))
        except BaseException as exc:  # every waiter sees the failure; the keys are asked again next time
            for key in keys:
                self._in_flight.pop(key, None)
            failed = isinstance(exc, Exception)
            for future, _key in batch.waiters:
                if not future.done():
                    if failed:
                        future.set_exception(exc)
                    else:  # the batch itself was cancelled: so are its waiters, none left hanging
                        future.cancel()
            if not failed:
                raise
            return
        values = self._values
        for key, value in found:
            values[key] = value
            self._in_flight.pop(key, None)
        for future, key in batch.waiters:
            if not future.done():  # a cancelled waiter is left alone
                future.set_result(None if key is _ALL else values[key])


def loader(ctx: Context, name: str, batch: Callable[[list[Any]], Awaitable[Sequence[Any]]]) -> BatchLoader[Any, Any]:
    key = ("loader", name)
    if key not in ctx.cache:
        ctx.cache[key] = BatchLoader(batch)
    return ctx.cache[key]


async def _by_id(model: type[Any], ids: list[int]) -> list[Any]:
    rows = {r.id: r for r in await rows_where_in(model, "id", ids)}
    return [rows.get(i) for i in ids]


def grouped(rows: Sequence[Any], key: str, ids: Sequence[int]) -> list[list[Any]]:
    """The rows of each of ``ids`` (by their attribute ``key``), in the rows' order; an
    empty list for an id without rows."""
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
        return grouped(rows, "partner_id", ids)

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
        return grouped(rows, "user_id", ids)

    return loader(ctx, "certifications_of", batch)


def documents_of(ctx: Context) -> BatchLoader[int, list[Document]]:
    """Every upload of each application, superseded ones included, oldest first (the
    Documents list shows them all; the rules look at the current ones)."""
    async def batch(ids: list[int]) -> list[list[Document]]:
        rows = await rows_where_in(Document, "application_id", ids, order_by=("uploaded_at", "id"))
        return grouped(rows, "application_id", ids)

    return loader(ctx, "documents_of", batch)
