"""The benchmark, tiny: it still runs end to end, both servers answer the same JSON, and the
approval queue stays within its SQL statement budget whatever the page size.

Only completion and SQL counts are asserted, never a time (docs/performance.md has the
measured figures). The data set goes into a temporary SQLite file, or into a throw-away
PostgreSQL database when the suite runs on PostgreSQL (SMBSELECT_TEST_DATABASE).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import run  # noqa: E402
from bench.generate import Manifest, manifest_path  # noqa: E402
from bench.operations import OPERATIONS  # noqa: E402

PARTNERS = 120  # 480 applications: every status, both programs, pages of 100 in the queue


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Manifest]]:
    from smbselect import testing

    choice = os.environ.get("SMBSELECT_TEST_DATABASE", "sqlite")
    if choice.startswith("postgres"):
        url = testing._with_db(choice, f"smbselect_bench_test_{uuid.uuid4().hex[:10]}")
    else:
        url = f"sqlite://{tmp_path_factory.mktemp('bench') / 'bench.sqlite3'}"
    # In a subprocess, as a user runs it: generating in this process would re-initialise
    # tortoise's global state and cut the other tests off their database.
    subprocess.run(
        [sys.executable, "-m", "bench.generate", url, "--partners", str(PARTNERS), "--fresh"],
        cwd=ROOT, check=True, capture_output=True, timeout=300,
    )
    manifest = Manifest.read(manifest_path(url))
    try:
        yield url, manifest
    finally:
        if url.startswith("postgres"):
            asyncio.run(testing.drop_pg_database(url))
            manifest_path(url).unlink(missing_ok=True)


def test_the_benchmark_runs_and_both_servers_agree(tiny: tuple[str, Manifest]) -> None:
    url, manifest = tiny
    assert manifest.counts["application"] == PARTNERS * 4
    assert manifest.submit and manifest.save and manifest.qualified_staff and manifest.one

    rows, _ = run.measure(url, manifest, list(OPERATIONS), seconds=0.3, levels=[2], workers=[1],
                          use_wrk=False, echo=lambda *_: None)

    for row in rows:
        key = row.op.key
        for server in ("smbselect", "baseline"):
            result = row.runs[f"{server}@2"]
            assert result["requests"] > 0, (key, server)
            if not row.op.consumes:  # a pool of single-use requests may run out in a tiny set
                assert result["bad"] == 0, (key, server, result)
            assert row.sql[server] > 0, (key, server)
        if row.op.comparable:
            assert row.same_json, key
    table = run.table("tiny", rows, [2], [1])
    assert "approval queue" in table


def test_the_approval_queue_stays_within_its_sql_budget(tiny: tuple[str, Manifest]) -> None:
    url, manifest = tiny
    by_page = run.queue_sql_by_page(url, manifest, pages=(10, 100))
    assert by_page[10] == by_page[100], by_page
    assert by_page[10] <= run.SQL_TARGET_QUEUE, by_page


def test_rounds_alternate_and_the_table_shows_their_median(tiny: tuple[str, Manifest]) -> None:
    """--repeat: each server runs once per round, the order alternating; the table shows each
    server's median run, the median of the rounds' ratios and every round's ratio."""
    url, manifest = tiny
    order: list[str] = []

    def echo(line: str) -> None:
        order.append(line.split()[1])  # "    me  smbselect  c=2 ..." -> the server

    ops = [op for op in OPERATIONS if op.key == "me"]
    rows, _ = run.measure(url, manifest, ops, seconds=0.3, levels=[2], workers=[1], use_wrk=False, echo=echo,
                          repeat=3)
    pairs = [order[i:i + 2] for i in range(0, len(order), 2)]
    assert len(pairs) == 3 and all(sorted(p) == ["baseline", "smbselect"] for p in pairs), order
    assert pairs[0] != pairs[1] and pairs[1] != pairs[2], order  # who goes first alternates
    (row,) = rows
    assert len(row.rounds["smbselect@2"]) == len(row.rounds["baseline@2"]) == 3
    rates = sorted(r["rps"] for r in row.rounds["smbselect@2"])
    assert row.runs["smbselect@2"]["rps"] == rates[1]
    ratios = row.ratios[2]
    assert len(ratios) == 3 and all(x > 0 for x in ratios)
    table = run.table("tiny", rows, [2], [1])
    line = next(ln for ln in table.splitlines() if ln.startswith("| me |"))
    assert f"| {sorted(ratios)[1]:.2f} |" in line  # the median of the rounds' ratios
    assert " ".join(f"{x:.2f}" for x in ratios) in line
    assert "ratio per round c=2" in table


def test_the_instruction_count_runs_its_requests_on_both_servers(tiny: tuple[str, Manifest]) -> None:
    """``python -m bench.instructions`` runs each side's requests (as valgrind's child),
    failing loudly on an error answer, and refuses a --many that is not more than --few."""
    url, _ = tiny
    for extra in ([], ["--baseline"]):
        done = subprocess.run([sys.executable, "-m", "bench.instructions", url, "one", "--child", "40", *extra],
                              cwd=ROOT, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "SMBSELECT_PLUGINS": "bench.second_program"})
        assert done.returncode == 0, done.stderr[-2000:]
    refused = subprocess.run([sys.executable, "-m", "bench.instructions", url, "me", "--few", "5", "--many", "5"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "--many must be more than --few" in refused.stderr
