"""Does the lab's all-CPU parallelism agree with the kernel's own accounting, read by a plain script?

The lab sums, per process that ran tasks, the process's CPU clock (every thread: the
task's, the BLAS pool's) from its first task's start to its last task's end. The plain
script here knows nothing of the lab: it multiplies the same numpy matrices, serially
(``os.times()`` of its own process) or on a ``ProcessPoolExecutor`` (``/proc/PID/stat``
of every worker and of itself, read around the task phase), and divides the CPU by the
wall time. Each cell is measured by the lab (``python -m runner.core.cell``, as in a sweep) and
by the plain script back to back, ``--rounds`` times, so that the machine's drift hits both;
the medians over rounds and their ratio are printed per cell. Within 5% is the target.
Because two runs a minute apart on a shared machine can differ by more than that, the plain
script also runs the lab's own task wrapper and reads the kernel's accounting around the same
task phases: "same phases" is the lab's ``process_cpu_s`` over the kernel's CPU of the same
seconds, which no drift of the machine can move.

    python benchmarks/native_cpu.py --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

from runner.core.native import account, environment
from runner.core.task import Task
from runner.paths import PROJECT_ROOT
from runner.sweep.launch import run_cell
from runner.sweep.spec import build

TASKS, N, ROUNDS, REPEATS = 32, 400, 4, 5
# (executor, workers, native_threads): the experiment's serial and process cells on two workers
CELLS = [("serial", 1, None), ("serial", 1, 1), ("process", 2, None), ("process", 2, 1)]


def _key(executor: str, workers: int, native: int | None) -> str:
    return f"matmul/{executor}/{workers}/native {native or 'default'}"


def lab(executor: str, workers: int, native: int | None, tmp: Path) -> float:
    """The lab's median parallelism of one cell, measured as every cell is: python -m runner.core.cell."""
    spec = build(
        {
            "workload": {"name": "matmul", "tasks": TASKS, "params": {"n": N, "rounds": ROUNDS}, "fail_rate": 0.0},
            "executor": {"name": executor},
            "start_method": "fork",
            "workers": workers,
            "repeats": REPEATS,
            "warmup": 1,
            "seed": 0,
            "timeout_s": 600.0,
            "native_threads": native,
        }
    )
    result = run_cell(spec, tmp)
    reps = [r for r in result["reps"] if not r["warmup"]]
    return statistics.median(r["process_cpu_s"] / r["wall_s"] for r in reps)


@cache
def _matrices() -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.random((N, N)), rng.random((N, N))


def _product(i: int) -> float:
    a, b = _matrices()
    product = a
    for _ in range(ROUNDS):
        product = a @ b
    return float(product.trace())


def _ticks(pid: int) -> int:
    # utime and stime, fields 14 and 15 of /proc/PID/stat (after the command name's parenthesis)
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _phase(executor: str, workers: int, work: Callable[[int], Any]) -> tuple[float, float, list[Any]]:
    """One task phase of ``work``: its wall time, the CPU the kernel charged, and what the tasks returned."""
    if executor == "serial":
        t0, c0 = time.perf_counter(), os.times()
        returned = [work(i) for i in range(TASKS)]
        wall, c1 = time.perf_counter() - t0, os.times()
        return wall, (c1.user - c0.user) + (c1.system - c0.system), returned
    with ProcessPoolExecutor(workers) as pool:
        pids = {pool.submit(os.getpid).result() for _ in range(workers * 4)} | {os.getpid()}
        before = {pid: _ticks(pid) for pid in pids}
        t0 = time.perf_counter()
        returned = list(pool.map(work, range(TASKS)))
        wall = time.perf_counter() - t0
        return wall, sum(_ticks(pid) - before[pid] for pid in pids) / os.sysconf("SC_CLK_TCK"), returned


def plain_cell(executor: str, workers: int) -> tuple[float, float]:
    """In this (fresh) interpreter: the plain script's median parallelism, and the median ratio of the
    lab's accounting to the kernel's in the same task phases (the lab's task wrapper, read both ways)."""
    _matrices()  # numpy loaded and the matrices built before the pool forks, as the lab's setup does
    bound = Task("workloads.matmul:run", {"n": N, "rounds": ROUNDS}, 0, 0.0)
    plain_values, same = [], []
    for rep in range(REPEATS + 1):  # the first is a warm-up
        wall, cpu, _ = _phase(executor, workers, _product)
        _, kernel, records = _phase(executor, workers, bound)
        if rep:
            plain_values.append(cpu / wall)
            same.append(account((r.pid, r.process) for r in records)["process_cpu_s"] / kernel)
    return statistics.median(plain_values), statistics.median(same)


def plain(executor: str, workers: int, native: int | None) -> tuple[float, float]:
    """The plain script's median parallelism of one cell, in a fresh interpreter whose environment sizes the pools."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(environment(native) if native else {})}
    out = subprocess.run(
        [sys.executable, __file__, "--plain", executor, str(workers)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    plain_value, same = json.loads(out.stdout)
    return float(plain_value), float(same)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plain", nargs=2, metavar=("EXECUTOR", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain:
        print(json.dumps(plain_cell(args.plain[0], int(args.plain[1]))))
        return
    ours: dict[str, list[float]] = defaultdict(list)
    ref: dict[str, list[float]] = defaultdict(list)
    same: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for executor, workers, native in CELLS:  # each pair back to back: the machine's drift hits both
                key = _key(executor, workers, native)
                ours[key].append(lab(executor, workers, native, Path(tmp) / f"{r}-{len(ours[key])}-{key[7:14]}"))
                plain_value, ratio = plain(executor, workers, native)
                ref[key].append(plain_value)
                same[key].append(ratio)
    print(f"{'cell':<34}{'lab':>8}{'plain':>8}{'lab/plain':>11}{'same phases':>13}")
    ratios, together = [], []
    for key in sorted(ref):
        a, b, c = statistics.median(ours[key]), statistics.median(ref[key]), statistics.median(same[key])
        ratios.append(a / b)
        together.append(c)
        print(f"{key:<34}{a:8.2f}{b:8.2f}{a / b:11.3f}{c:13.3f}")
    print(f"cells within 5% of the plain script: {sum(abs(r - 1) <= 0.05 for r in ratios)}/{len(ratios)}")
    near = sum(abs(r - 1) <= 0.05 for r in together)
    print(f"cells within 5% of the kernel in the same phases: {near}/{len(ratios)}")


if __name__ == "__main__":
    main()
