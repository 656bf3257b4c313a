"""Where one operation's time and SQL go: ``python -m bench.profile DATABASE_URL OPERATION``.

Runs the operation in process (the real app, called as ASGI directly: no network and no
HTTP client in the profile) against a generated data set, then prints its SQL statements,
the wall time per request split into "waiting for the database" and the rest, the CPU time
per request, and the CPU time grouped by package (graphql-core,
strawberry, tortoise, the database driver, asyncio, smbselect, ...) from cProfile.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import time
from collections import defaultdict
from typing import Any

GROUPS = (
    ("graphql-core", "/graphql/"),
    ("strawberry", "/strawberry/"),
    ("tortoise", "/tortoise/"),
    ("pypika", "/pypika"),
    ("iso8601 (tortoise's datetimes)", "/iso8601/"),
    ("aiosqlite/sqlite3", "aiosqlite"),
    ("asyncpg", "asyncpg"),
    ("pluggy", "/pluggy/"),
    ("smbselect", "/smbselect/"),
    ("starlette", "/starlette/"),
    ("json", "/json/"),
    ("asyncio", "/asyncio/"),
    ("logging", "/logging/"),
)


def group_of(filename: str) -> str:
    for name, needle in GROUPS:
        if needle in filename:
            return name
    if filename.startswith("~") or filename == "":
        return "builtins (C)"
    return "other"


class DbTimer:
    """Adds up the wall time spent awaiting tortoise's client (SQL plus the driver's hops),
    in all and by statement (its first words: the same statement with other parameters)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.by_statement: dict[str, float] = defaultdict(float)
        self._patched: list[tuple[type, str, Any]] = []

    def __enter__(self) -> DbTimer:
        from tortoise import Tortoise

        cls = type(Tortoise.get_connection("default"))
        for name in ("execute_query", "execute_query_dict", "execute_insert", "execute_many"):
            original = getattr(cls, name, None)
            if original is None:
                continue

            async def timed(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await _original(*args, **kwargs)
                finally:
                    spent = time.perf_counter() - started
                    self.seconds += spent
                    self.by_statement[str(args[1])[:120].replace("\n", " ")] += spent

            self._patched.append((cls, name, original))
            setattr(cls, name, timed)
        return self

    def __exit__(self, *exc: object) -> None:
        for cls, name, original in self._patched:
            setattr(cls, name, original)


class Response:
    def __init__(self) -> None:
        self.status_code = 0
        self.body = b""


async def asgi_post(app: Any, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> Response:
    """One POST through the app's ASGI interface, as uvicorn would make it."""
    response = Response()
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # the client stays connected, says nothing more
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            response.status_code = message["status"]
        elif message["type"] == "http.response.body":
            response.body += message.get("body", b"")

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"bench"), (b"content-length", str(len(body)).encode()), *headers],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80), "state": {},
    }
    await app(scope, receive, send)
    return response


async def profile(database_url: str, key: str, n: int, top: int, save: str | None = None) -> None:
    from bench.generate import Manifest, manifest_path
    from bench.operations import BY_KEY, requests_for
    from smbselect import testing
    from smbselect.app import create_app, tune_gc
    from smbselect.db.connect import close_db, open_db
    from smbselect.settings import Settings

    manifest = Manifest.read(manifest_path(database_url))
    settings = Settings(_env_file=None, database_url=database_url, plugins=["bench.second_program"],  # type: ignore[call-arg]
                        env="production", secret_key="bench-profile")
    await open_db(database_url)
    app = create_app(settings, manage_db=False, run_relay=False)
    op = BY_KEY[key]
    reqs = requests_for(op, manifest)

    async def call(i: int) -> Response:
        r = reqs[i % len(reqs)]
        headers = [(b"content-type", b"application/json")]
        if r.token:
            headers.append((b"authorization", f"Bearer {r.token}".encode()))
        return await asgi_post(app, "/graphql", op.graphql_body(r), headers)

    for i in range(3):
        first = await call(i)
        body = json.loads(first.body)
        if first.status_code != 200 or body.get("errors"):  # profiling a failure says nothing
            raise SystemExit(f"{op.key} failed: {first.status_code} {str(body)[:500]}")
    tune_gc()  # as the server does after start-up: the collector sees only the requests' objects
    with testing.SqlCounter() as sql:
        await call(0)
    print(f"== {op.label}: {sql.count} SQL statements")
    for statement in sql.statements:
        print("   ", statement[:160].replace("\n", " "))
    with DbTimer() as db:
        started, cpu_started = time.perf_counter(), time.process_time()
        for i in range(n):
            await call(i)
        wall = (time.perf_counter() - started) / n
        cpu = (time.process_time() - cpu_started) / n
    print(f"\nwall {wall * 1000:.2f} ms/request: awaiting the database {db.seconds / n * 1000:.2f} ms, "
          f"the rest (HTTP, GraphQL, ORM objects, rules) {(wall - db.seconds / n) * 1000:.2f} ms; "
          f"CPU {cpu * 1000:.2f} ms/request (every thread: what bounds the throughput under load)")
    print("\nawaiting the database, by statement (ms/request):")
    for statement, seconds in sorted(db.by_statement.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds / n * 1000:7.2f}  {statement}")
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(n):
        await call(i)
    profiler.disable()
    await close_db()
    stats = pstats.Stats(profiler)
    if save:
        stats.dump_stats(save)  # for pstats' print_callers / snakeviz
    by_group: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _line, func), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        name = "idle: waiting in epoll" if "epoll" in func else group_of(filename)
        by_group[name] += tottime
        total += tottime
    print(f"\nCPU by package (cProfile tottime, {n} requests, {total / n * 1000:.2f} ms/request under the profiler):")
    for name, seconds in sorted(by_group.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<32} {seconds / total * 100:5.1f} %")
    print()
    stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    from bench.operations import BY_KEY

    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("operation", choices=sorted(k for k, op in BY_KEY.items() if not op.mutation))
    parser.add_argument("-n", type=int, default=30)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--save", metavar="FILE", help="also write the cProfile stats to FILE")
    args = parser.parse_args()
    os.environ.setdefault("SMBSELECT_PLUGINS", "bench.second_program")
    asyncio.run(profile(args.database_url, args.operation, args.n, args.top, args.save))


if __name__ == "__main__":
    main()
