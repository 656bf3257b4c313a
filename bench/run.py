"""The benchmark: generate a data set, serve smbselect and the baseline, drive both, print tables.

    .venv/bin/python -m bench --db sqlite --db postgres --partners 2000

For each database: generate the data set (or reuse it: ``--reuse``), start ``smbselect serve``
exactly as a user would (``--workers``, migrations, the mail relay and the observers running
inside) and the baseline (:mod:`bench.baseline`) under the same uvicorn, check that both answer
the same JSON, then run every operation for ``--duration`` seconds at one connection and at
``--connections`` connections, alternating smbselect and the baseline. Single-use requests
(``applicationSubmit``) are put back after each run, and every row a run wrote is removed,
so runs can be repeated on one data set. SQL statements per request come from the
``X-SQL-Count`` header both servers add under ``SMBSELECT_COUNT_SQL=1``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from bench import load
from bench.generate import Manifest, manifest_path
from bench.operations import BY_KEY, OPERATIONS, Operation, Request, ok, requests_for

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/smbselect_bench"
DEFAULT_SQLITE = str(ROOT / "bench" / "data" / "bench.sqlite3")
SQL_TARGET_QUEUE = 8
CAP_REQUESTS = 5000  # distinct requests handed to the load generator per operation


# --- servers ----------------------------------------------------------------------------


def server_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMBSELECT_")}
    env.update(
        SMBSELECT_DATABASE_URL=database_url,
        SMBSELECT_PLUGINS="bench.second_program",
        SMBSELECT_ENV="production",  # no SMTP server: mail stays queued, nothing printed
        SMBSELECT_SECRET_KEY="bench-secret-key-not-for-production",
        SMBSELECT_DATA_DIR=str(Path(tempfile.gettempdir()) / "smbselect-bench-data"),
        SMBSELECT_COUNT_SQL="1",
        # Every benchmark client comes from 127.0.0.1, and a login reserves an attempt of its
        # address's budget while its password is checked: 32 logins at once would be refused.
        SMBSELECT_LOGIN_MAX_FAILURES_PER_ADDRESS="1000000",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    )
    return env


class Server:
    """A server in a subprocess on a free loopback port; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int) -> None:
        self.name, self.argv, self.env, self.port = name, argv, env, port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"smbselect-bench-{name}-{port}.log"

    def __enter__(self) -> Server:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"{self.name} did not become ready:\n{self.log()}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


def smbselect_server(database_url: str, workers: int = 1) -> Server:
    port = _free_port()
    argv = [str(Path(sys.executable).with_name("smbselect")), "serve", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers)]
    return Server(f"smbselect-w{workers}", argv, server_env(database_url), port)


def baseline_server(database_url: str) -> Server:
    port = _free_port()
    argv = [sys.executable, "-m", "bench.baseline", "--host", "127.0.0.1", "--port", str(port)]
    return Server("baseline", argv, server_env(database_url), port)


def _free_port() -> int:
    from smbselect.testing import free_port

    return free_port()


# --- what a request looks like to each server --------------------------------------------


def prepared(op: Operation, reqs: list[Request], baseline: bool) -> list[load.Prepared]:
    return [load.Prepared(r.token, op.baseline_body(r) if baseline else op.graphql_body(r)) for r in reqs]


def send(server: Server, op: Operation, req: Request, baseline: bool) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if req.token:
        headers["Authorization"] = f"Bearer {req.token}"
    path = op.baseline_path if baseline else "/graphql"
    body = op.baseline_body(req) if baseline else op.graphql_body(req)
    return httpx.post(server.url + path, content=body, headers=headers, timeout=60)


# --- keeping the data set repeatable ------------------------------------------------------


class Db:
    """The runner's own connection, to put single-use rows back after a run."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.sqlite = database_url.startswith("sqlite")

    def execute(self, statements: list[tuple[str, list[Any]]]) -> list[Any]:
        if self.sqlite:
            import sqlite3

            conn = sqlite3.connect(self.url.split("://", 1)[1], timeout=30)
            try:
                out = [conn.execute(sql, params).fetchall() for sql, params in statements]
                conn.commit()
                return out
            finally:
                conn.close()
        import asyncio

        import asyncpg

        from smbselect.testing import _asyncpg_dsn

        async def go() -> list[Any]:
            name = self.url.rsplit("/", 1)[1].split("?")[0]
            conn = await asyncpg.connect(_asyncpg_dsn(self.url, name))
            try:
                out = []
                async with conn.transaction():
                    for sql, params in statements:
                        n = iter(range(1, 100_000))
                        pg_sql = "".join(f"${next(n)}" if ch == "?" else ch for ch in sql)
                        out.append(await conn.fetch(pg_sql, *params))
                return out
            finally:
                await conn.close()

        return asyncio.run(go())

    def marks(self) -> dict[str, int]:
        rows = self.execute([(f'SELECT COALESCE(MAX(id), 0) FROM "{t}"', [])
                             for t in ("application_event", "email_message", "session", "job_allocation")])
        return dict(zip(("application_event", "email_message", "session", "job_allocation"),
                        (int(r[0][0]) for r in rows)))

    def restore(self, marks: dict[str, int], submitted: list[int]) -> None:
        """Remove what a run wrote (events, emails, sessions) and reopen submitted applications."""
        statements: list[tuple[str, list[Any]]] = [
            ('DELETE FROM "application_event" WHERE id > ?', [marks["application_event"]]),
            ('DELETE FROM "email_message" WHERE id > ?', [marks["email_message"]]),
            ('DELETE FROM "session" WHERE id > ?', [marks["session"]]),
        ]
        for i in range(0, len(submitted), 500):
            chunk = submitted[i:i + 500]
            statements.append((
                "UPDATE application SET status = 'NOT_SUBMITTED', submitted_at = NULL, review_due_on = NULL "
                f"WHERE status = 'SUBMITTED' AND id IN ({', '.join('?' for _ in chunk)})", chunk,
            ))
        self.execute(statements)


# --- measuring ---------------------------------------------------------------------------


@dataclass
class Row:
    op: Operation
    sql: dict[str, float] = field(default_factory=dict)  # server -> statements per request
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # "smbselect@32" -> Result dict
    # With --repeat: per level, smbselect's req/s over the baseline's, one per round (the two
    # runs of a round are back to back, so the machine's drift moves both alike).
    ratios: dict[int, list[float]] = field(default_factory=dict)
    rounds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # every run, as runs' keys
    same_json: bool | None = None
    note: str = ""


def sql_count(server: Server, op: Operation, reqs: list[Request], baseline: bool, n: int = 3) -> tuple[float, list[Any]]:
    counts, bodies = [], []
    for req in reqs[:n]:
        response = send(server, op, req, baseline)
        counts.append(int(response.headers.get("x-sql-count", "-1")))
        bodies.append(response.json())
    return statistics.median(counts), bodies


def app_ids(op: Operation, reqs: list[Request]) -> list[int]:
    from smbselect import ids

    return [ids.decode(r.variables["input"]["applicationId"], "Application") or 0 for r in reqs]


def _median_run(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median req/s (the lower middle one of an even count), kept whole so its
    latencies and its req/s come from the same run."""
    ordered = sorted(results, key=lambda r: r["rps"])
    return ordered[(len(ordered) - 1) // 2]


def measure(
    database_url: str, manifest: Manifest, ops: list[Operation], *, seconds: float, levels: list[int],
    workers: list[int], use_wrk: bool, echo: Any = print, repeat: int = 1,
) -> tuple[list[Row], dict[str, Any]]:
    """Run every operation on both servers, ``repeat`` rounds per level (the order of the
    two alternating from round to round); each server's figures are those of its median run."""
    db = Db(database_url)
    rows = [Row(op) for op in ops]
    info: dict[str, Any] = {}
    runner = load.run_wrk if use_wrk else load.run_python
    with smbselect_server(database_url) as smb, baseline_server(database_url) as base:
        servers = {"smbselect": smb, "baseline": base}
        # Warm both up (imports, caches, the first connections) before anything is timed.
        for row in rows:
            reqs = requests_for(row.op, manifest)
            if row.op.mutation:
                continue
            for name, server in servers.items():
                send(server, row.op, reqs[0], name == "baseline")
        for row in rows:
            op = row.op
            reqs = requests_for(op, manifest)
            if not reqs:
                row.note = "no requests in this data set"
                continue
            marks = db.marks()
            answers = {}
            for name, server in servers.items():
                if op.consumes:  # each server gets its own application from the pool
                    pick = reqs[:1] if name == "smbselect" else reqs[1:2]
                else:
                    pick = reqs
                row.sql[name], answers[name] = sql_count(server, op, pick, name == "baseline",
                                                         n=1 if op.consumes else 3)
            if op.comparable and not op.consumes:
                row.same_json = answers["smbselect"][0] == answers["baseline"][0]
            elif op.consumes:
                row.same_json = (answers["smbselect"][0]["data"] is not None
                                 and answers["baseline"][0]["data"] is not None)
            if op.consumes:
                db.restore(marks, app_ids(op, reqs[:2]))
            for level in levels:
                done: dict[str, list[dict[str, Any]]] = {"smbselect": [], "baseline": []}
                for round_ in range(repeat):
                    first = (ops.index(op) + level + round_) % 2 == 0
                    for name in ["smbselect", "baseline"] if first else ["baseline", "smbselect"]:
                        server = servers[name]
                        marks = db.marks()
                        batch = reqs if op.consumes else reqs[:CAP_REQUESTS]
                        kwargs: dict[str, Any] = {"consume": op.consumes, "pid": server.pid}
                        if not use_wrk:
                            kwargs["checker"] = lambda body, op=op: ok(op, body)
                        result = runner(server.url, op.baseline_path if name == "baseline" else "/graphql",
                                        prepared(op, batch, name == "baseline"), seconds, level, **kwargs)
                        done[name].append(result.to_dict())
                        if op.mutation:
                            db.restore(marks, app_ids(op, batch) if op.consumes else [])
                        echo(f"    {op.key:<16} {name:<9} c={level:<3} {result.rps:8.1f} req/s  "
                             f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  bad {result.bad}  "
                             f"rss {result.peak_rss_mb:.0f} MB")
                for name, results in done.items():
                    row.runs[f"{name}@{level}"] = _median_run(results)
                    row.rounds[f"{name}@{level}"] = results
                row.ratios[level] = [s["rps"] / b["rps"] if b["rps"] else 0.0
                                     for s, b in zip(done["smbselect"], done["baseline"], strict=True)]
        info["smbselect_log_tail"] = smb.log()[-1000:]
    for count in workers:
        if count == 1:
            continue
        with smbselect_server(database_url, workers=count) as smb_n:
            for row in rows:
                op = row.op
                reqs = requests_for(op, manifest)
                if not reqs:
                    continue
                level = max(levels)
                marks = db.marks()
                batch = reqs if op.consumes else reqs[:CAP_REQUESTS]
                kwargs = {"consume": op.consumes, "pid": smb_n.pid}
                if not use_wrk:
                    kwargs["checker"] = lambda body, op=op: ok(op, body)
                result = runner(smb_n.url, "/graphql", prepared(op, batch, False), seconds, level, **kwargs)
                row.runs[f"smbselect-w{count}@{level}"] = result.to_dict()
                if op.mutation:
                    db.restore(marks, app_ids(op, batch) if op.consumes else [])
                echo(f"    {op.key:<16} workers={count} c={level:<3} {result.rps:8.1f} req/s  "
                     f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  bad {result.bad}")
    return rows, info


def queue_sql_by_page(database_url: str, manifest: Manifest, pages: tuple[int, ...] = (10, 50, 100)) -> dict[int, int]:
    """SQL statements of the approval queue for pages of different sizes (same server)."""
    op = BY_KEY["queue"]
    out = {}
    with smbselect_server(database_url) as smb:
        for page in pages:
            req = requests_for(op, manifest, page=page)[0]
            send(smb, op, req, False)
            out[page] = int(send(smb, op, req, False).headers.get("x-sql-count", "-1"))
    return out


# --- the table ---------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def table(title: str, rows: list[Row], levels: list[int], workers: list[int]) -> str:
    hi, lo = max(levels), min(levels)
    extra = [w for w in workers if w != 1]
    head = ["operation", "SQL/req smb", "SQL/req base", f"req/s smb c={hi}", f"req/s base c={hi}", "ratio",
            f"p50 smb c={lo}", f"p99 smb c={lo}", f"p50 base c={lo}", f"p99 base c={lo}",
            f"p99 smb c={hi}", "RSS smb MB", "RSS base MB"]
    head += [f"req/s smb {w} workers c={hi}" for w in extra]
    several = any(len(row.ratios.get(hi, [])) > 1 for row in rows)
    if several:
        head.append(f"ratio per round c={hi}")
    head.append("same JSON")
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        r = row.runs

        def get(key: str, field_name: str) -> float | None:
            return r.get(key, {}).get(field_name)

        smb_hi, base_hi = get(f"smbselect@{hi}", "rps"), get(f"baseline@{hi}", "rps")
        ratio = smb_hi / base_hi if smb_hi and base_hi else None
        rounds = row.ratios.get(hi, [])
        if len(rounds) > 1:  # the median of the rounds' own ratios, each pair back to back
            ratio = statistics.median(rounds)
        # Peaks and failures over every run, not only the median ones.
        every = [(k, v) for k, vs in row.rounds.items() for v in vs] + [
            (k, v) for k, v in r.items() if k not in row.rounds]
        rss_smb = max((v.get("peak_rss_mb", 0) for k, v in every if k.startswith("smbselect@")), default=None)
        rss_base = max((v.get("peak_rss_mb", 0) for k, v in every if k.startswith("baseline@")), default=None)
        bad = sum(v.get("bad", 0) for _, v in every)
        cells = [
            row.op.label, fmt(row.sql.get("smbselect"), 0), fmt(row.sql.get("baseline"), 0),
            fmt(smb_hi), fmt(base_hi), fmt(ratio, 2),
            fmt(get(f"smbselect@{lo}", "p50_ms"), 2), fmt(get(f"smbselect@{lo}", "p99_ms"), 2),
            fmt(get(f"baseline@{lo}", "p50_ms"), 2), fmt(get(f"baseline@{lo}", "p99_ms"), 2),
            fmt(get(f"smbselect@{hi}", "p99_ms"), 2), fmt(rss_smb, 0), fmt(rss_base, 0),
        ]
        cells += [fmt(get(f"smbselect-w{w}@{hi}", "rps")) for w in extra]
        if several:
            cells.append(" ".join(f"{x:.2f}" for x in row.ratios.get(hi, [])) or "-")
        same = {True: "yes", False: "NO", None: "n/a"}[row.same_json]
        if bad:
            same += f" ({bad} failed answers)"
        if row.note:
            same += f" ({row.note})"
        cells.append(same)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- the command -------------------------------------------------------------------------


def database_url(kind: str, sqlite_path: str, pg_url: str) -> str:
    if kind == "sqlite":
        return f"sqlite://{sqlite_path}"
    if kind == "postgres":
        return pg_url
    return kind  # a full URL


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", action="append", help="sqlite, postgres or a database URL (repeatable; "
                        "default: both)")
    parser.add_argument("--partners", type=int, default=100_000, help="partners (4 applications each)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies --partners (2.5: 1,000,000 "
                        "applications)")
    parser.add_argument("--sqlite-path", default=DEFAULT_SQLITE)
    parser.add_argument("--postgres-url", default=os.environ.get("SMBSELECT_BENCH_POSTGRES", DEFAULT_PG))
    parser.add_argument("--reuse", action="store_true", help="reuse a data set of the same size if there is one")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--repeat", type=int, default=1, help="rounds per operation and level, the two servers "
                        "alternating; the table shows each server's median run and the median of the "
                        "rounds' ratios (this machine's noise moves one run's ratio by up to ±0.1)")
    parser.add_argument("--connections", default="1,32", help="concurrency levels, comma-separated")
    parser.add_argument("--workers", default="1", help="worker counts of smbselect serve, e.g. 1,2")
    parser.add_argument("--ops", default=",".join(op.key for op in OPERATIONS))
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)

    kinds = args.db or ["sqlite", "postgres"]
    partners = int(args.partners * args.scale)
    levels = [int(x) for x in args.connections.split(",")]
    workers = [int(x) for x in args.workers.split(",")]
    ops = [BY_KEY[k] for k in args.ops.split(",")]
    use_wrk = args.load == "wrk" or (args.load == "auto" and load.have_wrk())
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = []
    for kind in kinds:
        url = database_url(kind, args.sqlite_path, args.postgres_url)
        label = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        path = manifest_path(url)
        manifest = Manifest.read(path) if (args.reuse and path.exists()) else None
        if manifest is None or manifest.partners != partners:
            print(f"== {label}: generating {partners:,} partners ({partners * 4:,} applications) into {url}")
            # In a process of its own: tortoise caches SQL per model, so one process cannot
            # write to SQLite and then to PostgreSQL.
            subprocess.run([sys.executable, "-m", "bench.generate", url, "--partners", str(partners), "--fresh"],
                           check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
            manifest = Manifest.read(path)
            print(f"   done in {manifest.seconds}s")
        print(f"== {label}: {'wrk' if use_wrk else 'asyncio client'}, {args.duration:g}s per run, "
              f"connections {levels}, workers {workers}")
        if args.repeat < 1:
            parser.error("--repeat must be at least 1")
        rows, info = measure(url, manifest, ops, seconds=args.duration, levels=levels, workers=workers,
                             use_wrk=use_wrk, repeat=args.repeat)
        pages = queue_sql_by_page(url, manifest) if "queue" in {op.key for op in ops} else {}
        title = (f"{label}: {manifest.counts['application']:,} applications, {partners:,} partners, "
                 f"{args.duration:g} s per run, {'wrk' if use_wrk else 'asyncio client'}"
                 + (f", median of {args.repeat} rounds" if args.repeat > 1 else ""))
        text = table(title, rows, levels, workers)
        if pages:
            text += "\n\nApproval queue SQL statements by page size: " + ", ".join(
                f"{k} rows: {v}" for k, v in pages.items()) + f" (target ≤ {SQL_TARGET_QUEUE}, same for all)"
        print("\n" + text + "\n")
        tables.append(text)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        (out_dir / f"{label.lower()}-{stamp}.json").write_text(json.dumps({
            "database": label, "partners": partners, "counts": manifest.counts, "duration": args.duration,
            "levels": levels, "workers": workers, "load": "wrk" if use_wrk else "python", "repeat": args.repeat,
            "queue_sql_by_page": pages, "table": text,
            "rows": [{"op": r.op.key, "sql": r.sql, "runs": r.runs, "ratios": r.ratios, "same_json": r.same_json}
                     for r in rows],
        }, indent=1))
    print("\n\n".join(tables))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
