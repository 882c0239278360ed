"""Real HTTP requests to a real server on 127.0.0.1: threads or asyncio for web calls?

Each task makes ``requests`` GET requests one after another to a server that answers
after ``latency_ms`` with ``response_kib`` KiB, and returns the start and end of each.
The tasks share one client, as an application does: one per worker process for the
threads of ``client`` (a requests Session, httpx.Client; ``requests`` is a bare
``requests.get``, a new connection every time), one per event loop for
``async_client`` (httpx.AsyncClient, aiohttp). The client keeps up to ``pool``
connections (100 is httpx's and aiohttp's default; past it they wait for a free one,
while a requests Session opens an extra one and discards it); ``keep_alive=false``
asks for ``Connection: close`` on every request, so each connects afresh.

The lab starts the server (``serve``) once per cell, in a process of its own so that
its GIL is not the cell's, and stops it when the cell ends, on every path: a Flask app
on waitress with ``server_threads`` threads, or an ASGI app on uvicorn
(workloads/web_server.py). ``client`` serves the thread, process and per-task
executors, ``async_client`` the coroutine form under ``executor=asyncio``. Clients and
servers are the optional extra ``[web]``.

``summarize`` turns the per-request timings into requests per second, latency
percentiles and errors; it reads the server's own concurrency and CPU and flags the
cell where the server, not the client, set the pace; and, where the tasks ran in the
cell's own process (threads, asyncio), the memory each request in flight cost.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, Literal

from runner.core.cell import peak_rss_mb

SERVER_SCRIPT = Path(__file__).with_name("web_server.py")
SERVER_START_S = 60.0
SERVER_STOP_S = 5.0
# a server at this share of one CPU is the bottleneck: it has one GIL
SERVER_BUSY = 0.8
CLIENT_MODULES = {
    "requests": "requests",
    "session": "requests",
    "httpx": "httpx",
    "aiohttp": "aiohttp",
}
SERVER_MODULES = {"waitress": ("waitress", "flask"), "uvicorn": ("uvicorn",)}

Client = Literal["requests", "session", "httpx"]
AsyncClient = Literal["httpx", "aiohttp"]
Server = Literal["waitress", "uvicorn"]
# what a task returns: (pid, [start, end, start, end, ...] of its answered requests, failed requests)
Timings = tuple[int, list[float], int]


class Served:
    """The cell's running server, for setup and summarize in the same process."""

    def __init__(self, process: subprocess.Popen[str], url: str, threads: int) -> None:
        self.process = process
        self.url = url
        self.threads = threads
        self.rss_mb = 0.0  # the cell's memory with its clients imported, before any pool
        self.cpu_s = 0.0  # the server's CPU time at the start of a repetition
        self.peak_reset = False  # whether VmHWM is this repetition's peak

    def stats(self) -> dict[str, float]:
        with urllib.request.urlopen(f"{self.url}_stats", timeout=SERVER_START_S) as reply:
            stats: dict[str, float] = json.loads(reply.read())
        return stats


_served: Served | None = None


def missing(
    *, server: Server = "uvicorn", client: Client = "session", async_client: AsyncClient = "httpx", **_: Any
) -> str | None:
    """What a cell of these parameters needs that this interpreter lacks, as one line naming
    the parameter; None when nothing is missing. The sweep asks before its first cell
    (runner/sweep/spec.py), so a missing extra stops it there rather than failing every cell."""
    wanted = {
        "server": (server, SERVER_MODULES[server]),
        "client": (client, (CLIENT_MODULES[client],)),
        "async_client": (async_client, (CLIENT_MODULES[async_client],)),
    }
    for key, (value, modules) in wanted.items():
        absent = [m for m in modules if importlib.util.find_spec(m) is None]
        if absent:
            return (
                f"workload.params.{key}: {value!r} needs {', '.join(absent)}, "
                f"{'which is' if len(absent) == 1 else 'which are'} not installed; "
                "allowed: pip install 'concurrency-lab[web]'"
            )
    return None


@contextmanager
def serve(
    *,
    server: Server = "uvicorn",
    server_threads: int = 64,
    latency_ms: float = 50.0,
    response_kib: int = 1,
    client: Client = "session",
    async_client: AsyncClient = "httpx",
    **_: Any,
) -> Iterator[dict[str, Any]]:
    """Run the cell's server for all its repetitions; yield the ``url`` every task gets."""
    global _served  # noqa: PLW0603 - one server per cell process, for setup and summarize
    problem = missing(server=server, client=client, async_client=async_client)
    if problem is not None:  # a cell run under another interpreter, which the sweep did not check
        raise RuntimeError(problem)
    process = subprocess.Popen(
        [sys.executable, str(SERVER_SCRIPT), server, str(server_threads), str(latency_ms), str(response_kib)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = _port(process)
        _served = Served(process, f"http://127.0.0.1:{port}/", server_threads)
        for module in {CLIENT_MODULES[client], CLIENT_MODULES[async_client]}:
            # imported here, so that neither a task phase nor memory per request pays for it
            importlib.import_module(module)
        # just after a reset the peak is the memory in use
        _served.rss_mb = (peak_rss_mb({os.getpid()}) or 0.0) if _reset_peak() else 0.0
        yield {"url": _served.url}
    finally:
        _served = None
        process.terminate()
        try:
            process.wait(SERVER_STOP_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _port(process: subprocess.Popen[str]) -> int:
    """The port the server prints once it listens; its exit or silence is the cell's error."""
    line: list[str] = []
    out = process.stdout
    assert out is not None
    reader = threading.Thread(target=lambda: line.append(out.readline()), daemon=True)
    reader.start()
    reader.join(SERVER_START_S)
    if not line or not line[0].strip().isdigit():
        code = process.poll()
        state = f"exited with code {code}" if code is not None else f"said nothing in {SERVER_START_S:.0f} s"
        raise RuntimeError(f"the http workload's server {state} before it listened")
    return int(line[0])


def _reset_peak() -> bool:
    """Reset the cell's VmHWM to its current memory (Linux 4.0+), so that a peak is this repetition's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def setup(**params: Any) -> None:
    """Before each repetition: reset the server's gauge, and the cell's peak memory where Linux lets us."""
    if _served is None:  # a cell spec written by hand, without serve
        return
    _served.cpu_s = _served.stats()["cpu_s"]
    _served.peak_reset = _reset_peak()


def _headers(keep_alive: bool) -> dict[str, str]:
    return {} if keep_alive else {"Connection": "close"}


@cache
def _sync_client(client: Client, pool: int) -> Any:
    """The worker process's client, shared by its threads as an application shares one."""
    if client == "httpx":
        import httpx

        # an http:// URL needs no TLS: verify=False spares building a context of CA certificates
        return httpx.Client(limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool), verify=False)
    import requests as requests_lib

    if client == "requests":
        return requests_lib  # requests.get: a session of its own, and a new connection, per request
    session = requests_lib.Session()
    session.mount("http://", requests_lib.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=pool))
    # past `pool` connections urllib3 discards the extra one with a warning per request
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    return session


def _count(times: list[float], failed: int, start: float, ok: bool) -> int:
    """Record an answered request's start and end in ``times``; return the failures so far."""
    if ok:
        times += [start, time.perf_counter()]
        return failed
    return failed + 1


def run(
    i: int,
    *,
    requests: int = 4,
    latency_ms: float = 50.0,
    response_kib: int = 1,
    keep_alive: bool = True,
    client: Client = "session",
    async_client: AsyncClient = "httpx",
    pool: int = 100,
    server: Server = "uvicorn",
    server_threads: int = 64,
    url: str = "",
) -> Timings:
    """``requests`` GETs with a synchronous client; the server's parameters are ``serve``'s."""
    session, headers, failed = _sync_client(client, pool), _headers(keep_alive), 0
    times: list[float] = []
    for _ in range(requests):
        start = time.perf_counter()
        try:
            reply = session.get(url, headers=headers)
            ok = reply.status_code == 200 and len(reply.content) == response_kib * 1024
        except Exception:  # a failed request is counted, as a client in production would
            ok = False
        failed = _count(times, failed, start, ok)
    return os.getpid(), times, failed


# one client per event loop (each repetition runs a loop of its own)
_async_clients: dict[asyncio.AbstractEventLoop, Any] = {}


def _async_client(async_client: AsyncClient, pool: int, keep_alive: bool) -> Any:
    loop = asyncio.get_running_loop()
    if loop not in _async_clients:
        if async_client == "httpx":
            import httpx

            limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
            _async_clients[loop] = httpx.AsyncClient(headers=_headers(keep_alive), limits=limits, verify=False)
        else:
            import aiohttp

            connector = aiohttp.TCPConnector(limit=pool, force_close=not keep_alive)
            _async_clients[loop] = aiohttp.ClientSession(connector=connector)
    return _async_clients[loop]


async def _close_after_last(session: Any) -> None:
    """Close the loop's client once no other task is left to use it.

    The asyncio executor gathers every task of a repetition, queued ones included, so
    the gathering task and this one are all that remain when this is the last.
    """
    if len(asyncio.all_tasks()) <= 2:
        del _async_clients[asyncio.get_running_loop()]
        await (session.aclose() if hasattr(session, "aclose") else session.close())


async def _get_async(session: Any, url: str) -> tuple[int, int]:
    """Status and body length, with httpx.AsyncClient or aiohttp."""
    if hasattr(session, "aclose"):
        reply = await session.get(url)
        return reply.status_code, len(reply.content)
    async with session.get(url) as answer:
        return answer.status, len(await answer.read())


async def run_async(
    i: int,
    *,
    requests: int = 4,
    latency_ms: float = 50.0,
    response_kib: int = 1,
    keep_alive: bool = True,
    client: Client = "session",
    async_client: AsyncClient = "httpx",
    pool: int = 100,
    server: Server = "uvicorn",
    server_threads: int = 64,
    url: str = "",
) -> Timings:
    """The coroutine form: ``requests`` GETs with httpx.AsyncClient or aiohttp, one client per loop."""
    session, failed = _async_client(async_client, pool, keep_alive), 0
    times: list[float] = []
    try:
        for _ in range(requests):
            start = time.perf_counter()
            try:
                status, size = await _get_async(session, url)
                ok = status == 200 and size == response_kib * 1024
            except Exception:
                ok = False
            failed = _count(times, failed, start, ok)
    finally:
        await _close_after_last(session)
    return os.getpid(), times, failed


def _peak_in_flight(intervals: list[tuple[float, float]]) -> int:
    """The most requests open at once, from their starts and ends."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    now = peak = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


def summarize(values: Sequence[Timings | None], **params: Any) -> dict[str, float]:
    """Requests per second, latency percentiles, errors, the server's share, memory per request in flight."""
    intervals = [(v[1][k], v[1][k + 1]) for v in values if v is not None for k in range(0, len(v[1]), 2)]
    failed = sum(v[2] for v in values if v is not None)
    figures: dict[str, float] = {"requests_ok": len(intervals), "request_errors": failed}
    if not intervals:
        return figures
    span = max(end for _, end in intervals) - min(start for start, _ in intervals)
    latencies_ms = sorted((end - start) * 1000 for start, end in intervals)
    cuts = statistics.quantiles(latencies_ms, n=100, method="inclusive") if len(latencies_ms) > 1 else latencies_ms * 99
    in_flight = _peak_in_flight(intervals)
    figures |= {
        "requests_per_s": len(intervals) / span if span > 0 else float("nan"),
        "p50_ms": cuts[49],
        "p95_ms": cuts[94],
        "p99_ms": cuts[98],
        "peak_in_flight": in_flight,
    }
    if _served is None:
        return figures
    stats = _served.stats()
    server_busy = (stats["cpu_s"] - _served.cpu_s) / span if span > 0 else float("nan")
    # waitress holds at most its thread count; the rest wait in its queue
    queued = params.get("server") == "waitress" and stats["peak"] >= _served.threads and in_flight > _served.threads
    figures |= {
        "server_peak": stats["peak"],
        "server_busy": server_busy,
        "server_limited": int(queued or server_busy >= SERVER_BUSY),
    }
    peak = peak_rss_mb({os.getpid()})
    if all(v is not None and v[0] == os.getpid() for v in values) and _served.peak_reset and peak and _served.rss_mb:
        figures["kb_per_in_flight"] = (peak - _served.rss_mb) * 1024 / in_flight
    return figures
