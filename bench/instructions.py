"""Instructions per request, counted by valgrind: ``python -m bench.instructions DATABASE_URL OPERATION``.

On a shared virtual machine the CPU time of the same code moves by 10-20 % from one run to
the next, more than most single changes are worth. The number of instructions executed
hardly moves, so it tells whether a change made a request cheaper. This runs the operation
in process (as :mod:`bench.profile` does), with 32 requests in flight as under the load
generator, under ``valgrind --tool=callgrind`` twice, ``--few`` and ``--many`` requests,
and prints the difference divided by the extra requests: the start-up (imports, schema)
cancels out. ``--baseline`` counts the hand-written baseline instead. It needs valgrind
(Debian: ``apt-get install valgrind``) and takes a minute or more per operation.

It counts instructions, not time: a cache miss or a system call costs more than its count
says, and the load generator's figures remain the ones the targets are read from.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from typing import Any

CONCURRENCY = 32


async def _serve(database_url: str, key: str, count: int, baseline: bool) -> None:
    """The child under valgrind: ``count`` requests of ``key``, 32 at a time."""
    from bench import baseline as hand_written
    from bench.generate import Manifest, manifest_path
    from bench.operations import BY_KEY, requests_for
    from bench.profile import asgi_post
    from smbselect.app import create_app, tune_gc
    from smbselect.settings import Settings

    settings = Settings(_env_file=None, database_url=database_url, plugins=["bench.second_program"],  # type: ignore[call-arg]
                        env="production", secret_key="bench-instructions")
    op = BY_KEY[key]
    requests = requests_for(op, Manifest.read(manifest_path(database_url)))
    base_app = hand_written.create_app(settings)  # its lifespan opens the database for both
    app = base_app if baseline else create_app(settings, manage_db=False, run_relay=False)

    async def call(i: int) -> None:
        r = requests[i % len(requests)]
        headers = [(b"content-type", b"application/json")]
        if r.token:
            headers.append((b"authorization", f"Bearer {r.token}".encode()))
        if baseline:
            response = await asgi_post(app, op.baseline_path, op.baseline_body(r), headers)
        else:
            response = await asgi_post(app, "/graphql", op.graphql_body(r), headers)
        if response.status_code != 200 or json.loads(response.body).get("errors"):
            raise SystemExit(f"{key} failed: {response.status_code} {response.body[:300]!r}")

    async def worker(first: int) -> None:
        for i in range(first, count, CONCURRENCY):
            await call(i)

    async with base_app.router.lifespan_context(base_app):
        await call(0)
        tune_gc()
        await asyncio.gather(*(worker(w) for w in range(CONCURRENCY)))


def _count(args: argparse.Namespace, requests: int) -> int:
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m",
               "bench.instructions", args.database_url, args.operation, "--child", str(requests)]
    if args.baseline:
        command.append("--baseline")
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          env={**os.environ, "SMBSELECT_PLUGINS": "bench.second_program"})
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"valgrind failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> None:
    from bench.operations import BY_KEY

    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url", help="a data set made by python -m bench.generate")
    parser.add_argument("operation", choices=sorted(k for k, op in BY_KEY.items() if not op.mutation))
    parser.add_argument("--few", type=int, default=100)
    parser.add_argument("--many", type=int, default=400)
    parser.add_argument("--baseline", action="store_true", help="count the hand-written baseline")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        asyncio.run(_serve(args.database_url, args.operation, args.child, args.baseline))
        return
    if args.many <= args.few:
        raise SystemExit("--many must be more than --few")
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    few, many = _count(args, args.few), _count(args, args.many)
    per_request: Any = (many - few) / (args.many - args.few)
    who = "baseline" if args.baseline else "smbselect"
    print(f"{who} {args.operation}: {per_request / 1e6:.3f} M instructions per request "
          f"({args.few} and {args.many} requests, {CONCURRENCY} in flight)")


if __name__ == "__main__":
    main()
