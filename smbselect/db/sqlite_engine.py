"""tortoise's SQLite backend, with write transactions that take the write lock when they begin.

tortoise opens transactions with a plain (deferred) ``BEGIN``: the transaction reads under a
snapshot and asks for the write lock only at its first write. When another process (a second
server, the mail relay, ``smbselect worker``) committed in between, SQLite cannot upgrade that
snapshot and answers "database is locked" at once, without waiting for ``busy_timeout``. With
``BEGIN IMMEDIATE`` the transaction waits for the lock up front (``busy_timeout``) and then
reads the newest data, so cross-process writers queue instead of failing. Within one process
tortoise already runs one transaction at a time on its single connection, so this costs
nothing there.
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    """A transaction that starts with ``BEGIN IMMEDIATE``."""

    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ImmediateSqliteClient(SqliteClient):
    """SQLite client whose transactions begin with ``BEGIN IMMEDIATE`` (see the module)."""

    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient
