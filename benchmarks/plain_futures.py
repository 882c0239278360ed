"""A plain concurrent.futures script, no framework: the reference the lab must agree with.

Measures what the lab measures for the default sweep: the task phase of 64 (cpu) or
32 (sleep) tasks on a pool whose workers are already started, median of ``--repeats``,
speedup against a serial loop in the same process.

    python benchmarks/plain_futures.py --repeats 3   # prints JSON: {"cpu/thread/4": speedup, ...}
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from workloads import cpu, sleep

WORKLOADS: dict[str, tuple[Callable[..., Any], int, dict[str, Any]]] = {
    "cpu": (cpu.run, 64, {"n": 200_000}),
    "sleep": (sleep.run, 32, {"seconds": 0.02}),
}


def _task(name: str, i: int) -> Any:
    fn, _, params = WORKLOADS[name]
    return fn(i, **params)


def serial(name: str) -> float:
    _, tasks, _ = WORKLOADS[name]
    start = time.perf_counter()
    for i in range(tasks):
        _task(name, i)
    return time.perf_counter() - start


def pooled(name: str, make: Callable[[], Executor], workers: int) -> float:
    _, tasks, _ = WORKLOADS[name]
    with make() as pool:
        list(pool.map(time.sleep, [0.05] * workers))  # start every worker first
        start = time.perf_counter()
        futures = [pool.submit(_task, name, i) for i in range(tasks)]
        for f in futures:
            f.result()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", default="1,2,4,8")
    args = parser.parse_args()
    fork = multiprocessing.get_context("fork")
    speedups: dict[str, float] = {}
    for name in WORKLOADS:
        serial(name)  # warm-up, as the lab's warmup=1
        base = statistics.median(serial(name) for _ in range(args.repeats))
        for workers in map(int, args.workers.split(",")):
            makers: dict[str, Callable[[], Executor]] = {
                "thread": lambda w=workers: ThreadPoolExecutor(w),
                "process": lambda w=workers: ProcessPoolExecutor(w, mp_context=fork),
            }
            for executor, make in makers.items():
                pooled(name, make, workers)
                wall = statistics.median(pooled(name, make, workers) for _ in range(args.repeats))
                speedups[f"{name}/{executor}/{workers}"] = base / wall
    print(json.dumps(speedups))


if __name__ == "__main__":
    main()
