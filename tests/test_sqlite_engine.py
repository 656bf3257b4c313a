"""Two writers on one SQLite file (two server processes, or a server and the mail relay).

A transaction that read before another connection committed must still be able to write:
with tortoise's plain ``BEGIN`` it failed at once with "database is locked" (seen in the mail
outage test, 100 submissions while the relay wrote). Each client here has its own
connection, as a separate process would.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from smbselect.db.sqlite_engine import ImmediateSqliteClient, ImmediateTransactionWrapper


async def _client(path: Path, name: str) -> ImmediateSqliteClient:
    client = ImmediateSqliteClient(file_path=str(path), connection_name=name, busy_timeout=10000)
    await client.create_connection(with_db=True)
    return client


async def test_a_transaction_that_read_can_write_after_another_connection_committed(tmp_path: Path) -> None:
    path = tmp_path / "two-writers.sqlite3"
    first, second = await _client(path, "first"), await _client(path, "second")
    assert isinstance(first._in_transaction().connection, ImmediateTransactionWrapper)
    try:
        await first.execute_script("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        await first.execute_insert("INSERT INTO counter (id, n) VALUES (1, 0)", [])

        # The transaction object that first._in_transaction() would open (without the
        # tortoise context its "async with" needs).
        tx = ImmediateTransactionWrapper(first)
        await tx.begin()
        _, rows = await tx.execute_query("SELECT n FROM counter WHERE id = 1")
        seen = rows[0]["n"]
        # The other connection writes while this transaction is open between its read and
        # its write: it must wait for this transaction, not slip in before it.
        other = asyncio.create_task(second.execute_query("UPDATE counter SET n = n + 10 WHERE id = 1"))
        await asyncio.sleep(0.3)
        assert not other.done(), "the other writer did not wait for the open transaction"
        await tx.execute_query("UPDATE counter SET n = ? WHERE id = 1", [seen + 1])
        await tx.commit()
        await asyncio.wait_for(other, 10)

        _, rows = await second.execute_query("SELECT n FROM counter WHERE id = 1")
        assert rows[0]["n"] == 11  # both increments, neither lost
    finally:
        await first.close()
        await second.close()
