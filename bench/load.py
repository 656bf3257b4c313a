"""Load generators: wrk (the Debian package, preferred) or a small asyncio HTTP/1.1 client.

Both send a list of prepared POST requests over keep-alive connections for a fixed time
(or until a pool of single-use requests is used up), and report requests per second, the
50th and 99th percentile latency, and how many answers were not a success (a status other
than 200, a GraphQL error or userErrors). The server's peak RSS is sampled meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Result:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    bad: int
    peak_rss_mb: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Prepared:
    """One request as sent: the bearer token (or None) and the body."""

    token: str | None
    body: bytes


# --- peak RSS ---------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's workers are children of the supervisor)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            children = []
        todo.extend(int(c) for c in children)
    return out


def rss_mb(pid: int) -> float:
    """The largest resident set of the process tree's members (one worker's RSS)."""
    best = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    best = max(best, int(line.split()[1]))
        except OSError:
            pass
    return best / 1024


class RssSampler:
    def __init__(self, pid: int | None, every: float = 0.05) -> None:
        self.pid, self.every, self.peak = pid, every, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.pid:
                self.peak = max(self.peak, rss_mb(self.pid))
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self.pid:
            self.peak = max(self.peak, rss_mb(self.pid))


# --- wrk --------------------------------------------------------------------------------

WRK_SCRIPT = r"""
local bodies = {BODIES}
local tokens = {TOKENS}
local path = "{PATH}"
local consume = {CONSUME}
local threads = {}
local nthreads = {THREADS}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  reqs = {}
  for i = 1, #bodies do
    if not consume or ((i - 1) % nthreads) == id then
      local headers = {["Content-Type"] = "application/json"}
      if tokens[i] ~= "" then headers["Authorization"] = "Bearer " .. tokens[i] end
      table.insert(reqs, wrk.format("POST", path, headers, bodies[i]))
    end
  end
  idx = consume and 0 or ((id * 7919) % #reqs)
  bad = 0
  answered = 0
end

function request()
  idx = idx % #reqs + 1
  return reqs[idx]
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 or string.find(body, '"errors"', 1, true)
     or string.find(body, '"userErrors": [{', 1, true) or string.find(body, '"userErrors":[{', 1, true) then
    bad = bad + 1
  end
  if consume and answered >= #reqs then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local b = 0
  for _, t in ipairs(threads) do b = b + t:get("bad") end
  io.write(string.format('RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "bad": %d, "errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), b,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
"""


def _lua_string(text: str) -> str:
    level = "=" * 3
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(url: str, path: str, requests: list[Prepared], seconds: float, connections: int,
            *, consume: bool = False, pid: int | None = None) -> Result:
    threads = max(1, min(2, connections))
    script = WRK_SCRIPT.replace("{BODIES}", "{" + ",".join(_lua_string(r.body.decode()) for r in requests) + "}")
    script = script.replace("{TOKENS}", "{" + ",".join(json.dumps(r.token or "") for r in requests) + "}")
    script = script.replace("{PATH}", path).replace("{CONSUME}", "true" if consume else "false")
    script = script.replace("{THREADS}", str(threads))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        script_path = f.name
    try:
        with RssSampler(pid) as rss:
            proc = subprocess.run(
                ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
                 "--timeout", "30s", "-s", script_path, url],
                capture_output=True, text=True, timeout=seconds + 120,
            )
    finally:
        os.unlink(script_path)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {proc.stdout}\n{proc.stderr}")
    data = json.loads(line[len("RESULT "):])
    secs = data["duration_us"] / 1e6
    return Result(
        requests=data["requests"], seconds=round(secs, 2), rps=data["requests"] / secs if secs else 0.0,
        p50_ms=data["p50_us"] / 1000, p99_ms=data["p99_us"] / 1000, bad=data["bad"] + data["errors"],
        peak_rss_mb=round(rss.peak, 1),
    )


# --- asyncio client ---------------------------------------------------------------------


async def _one_connection(host: str, port: int, path: str, source: _Source, deadline: float,
                          latencies: list[float], counters: list[int], checker: object) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            req = source.next()
            if req is None:
                return
            head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json",
                    f"Content-Length: {len(req.body)}"]
            if req.token:
                head.append(f"Authorization: Bearer {req.token}")
            started = time.perf_counter()
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + req.body)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            status = int(status_line.split()[1]) if status_line else 0
            if status != 200 or (checker is not None and not checker(body)):  # type: ignore[operator]
                counters[0] += 1
    finally:
        writer.close()


class _Source:
    def __init__(self, requests: list[Prepared], consume: bool) -> None:
        self.requests, self.consume, self.i = requests, consume, 0

    def next(self) -> Prepared | None:
        if self.consume and self.i >= len(self.requests):
            return None
        req = self.requests[self.i % len(self.requests)]
        self.i += 1
        return req


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def run_python(url: str, path: str, requests: list[Prepared], seconds: float, connections: int,
               *, consume: bool = False, pid: int | None = None, checker: object = None) -> Result:
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    latencies: list[float] = []
    counters = [0]
    source = _Source(requests, consume)

    async def go() -> float:
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(
            _one_connection(host, int(port), path, source, deadline, latencies, counters, checker)
            for _ in range(connections)
        ))
        return time.perf_counter() - started

    with RssSampler(pid) as rss:
        elapsed = asyncio.run(go())
    return Result(
        requests=len(latencies), seconds=round(elapsed, 2), rps=len(latencies) / elapsed if elapsed else 0.0,
        p50_ms=percentile(latencies, 50) * 1000, p99_ms=percentile(latencies, 99) * 1000, bad=counters[0],
        peak_rss_mb=round(rss.peak, 1),
    )
