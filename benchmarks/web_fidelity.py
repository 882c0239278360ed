"""Does the http workload agree with plain scripts on requests per second?

Two loops anyone would write, against a uvicorn server answering after 50 ms: a
``ThreadPoolExecutor`` whose threads share one ``requests.Session``, and
``asyncio.gather`` over one ``httpx.AsyncClient`` behind a semaphore. Each round
measures the lab's cell (``python -m runner.core.cell`` in a fresh interpreter, with the
server it starts itself) and then the plain loop against a server started the same
way, interleaved, so that the machine's drift hits both; then it prints, per in-flight
count, the median requests per second of each and their ratio.

    python benchmarks/web_fidelity.py --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import requests

from runner.sweep.launch import run_cell
from workloads import web

TASKS, REQUESTS, LATENCY_MS, POOL = 256, 2, 50.0, 256
PARAMS = {"requests": REQUESTS, "latency_ms": LATENCY_MS, "pool": POOL, "async_client": "httpx"}


def lab(executor: str, in_flight: int, workdir: Path) -> float:
    """Median requests/s over the counted repetitions of one cell."""
    spec = {
        "schema": 1,
        "workload": {"name": "http", "tasks": TASKS, "params": PARAMS, "fail_rate": 0.0},
        "executor": {"name": executor, "options": {}},
        "start_method": "",
        "workers": in_flight,
        "repeats": 2,
        "warmup": 1,
        "seed": 0,
        "python": sys.executable,
        "gil": None,
        "switch_interval": None,
        "timeout_s": 300.0,
    }
    result = run_cell(spec, workdir)
    if result["status"] != "ok":
        raise SystemExit(f"lab cell {executor}/{in_flight}: {result['message']}")
    return statistics.median(r["metrics"]["requests_per_s"] for r in result["reps"] if not r["warmup"])


def plain_threads(url: str, in_flight: int) -> float:
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=POOL))

    def task(_: int) -> None:
        for _ in range(REQUESTS):
            session.get(url).raise_for_status()

    with ThreadPoolExecutor(in_flight) as pool:
        start = time.perf_counter()
        list(pool.map(task, range(TASKS)))
        return TASKS * REQUESTS / (time.perf_counter() - start)


async def _gather(url: str, in_flight: int) -> float:
    limits = httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)
    async with httpx.AsyncClient(limits=limits, verify=False) as client:
        slots = asyncio.Semaphore(in_flight)

        async def task() -> None:
            async with slots:
                for _ in range(REQUESTS):
                    (await client.get(url)).raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(task() for _ in range(TASKS)))
        return TASKS * REQUESTS / (time.perf_counter() - start)


def plain(executor: str, in_flight: int) -> float:
    """A warm-up run, then the median of two, as the lab's cell does."""
    with web.serve(**PARAMS) as served:
        runs: list[Any] = []
        for _ in range(3):
            if executor == "thread":
                runs.append(plain_threads(served["url"], in_flight))
            else:
                runs.append(asyncio.run(_gather(served["url"], in_flight)))
        return statistics.median(runs[1:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--in-flight", default="8,64")
    parser.add_argument("--executors", default="thread,asyncio")
    args = parser.parse_args()
    cells = [(e, int(n)) for e in args.executors.split(",") for n in args.in_flight.split(",")]
    ours: dict[tuple[str, int], list[float]] = defaultdict(list)
    theirs: dict[tuple[str, int], list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for executor, in_flight in cells:
                ours[executor, in_flight].append(lab(executor, in_flight, Path(tmp) / f"{r}-{executor}-{in_flight}"))
                theirs[executor, in_flight].append(plain(executor, in_flight))
    print(f"{'cell':<14}{'lab req/s':>11}{'plain req/s':>13}{'lab/plain':>11}")
    for key in cells:
        a, b = statistics.median(ours[key]), statistics.median(theirs[key])
        print(f"{key[0] + '/' + str(key[1]):<14}{a:11.1f}{b:13.1f}{a / b:11.3f}")


if __name__ == "__main__":
    main()
