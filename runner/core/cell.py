"""The measuring core: one cell spec in, one result out, in a fresh interpreter.

``python -m runner.core.cell SPEC.json RESULT.json``; or ``python -m runner.core.cell --wait``,
started ahead of its cell, which imports what it needs and then waits for one line on stdin that
names the spec, the result and the files for its output (runner/sweep/launch.py). Standard library only, so that
spawn and forkserver pay the start-up of a lean program, and so that a cell can run
under another interpreter that has none of the runner's dependencies.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import time
import traceback
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import workloads
from runner import files
from runner.core import native, probes, task
from runner.core.executors import EXECUTORS, Bound


def peak_rss_mb(pids: set[int]) -> float | None:
    """Sum of each process's peak resident memory (VmHWM); None where unreadable."""
    total_kb = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total_kb += int(line.split()[1])
                break
        else:
            return None
    return round(total_kb / 1024, 3)


def probe(bound: Bound, indices: list[int]) -> dict[str, Any]:
    """The serial probe: tasks ``indices``, one after another, here and now, before a repetition.

    Probes all along a sweep tell how fast this machine runs this workload, serially, over
    the time the cells ran (runner/core/pairing.py).
    """
    records = [bound(i) for i in indices]
    return {
        "tasks": indices,
        "wall_s": sum(r.end_s - r.start_s for r in records),
        "cpu_s": sum(r.cpu_s for r in records),
    }


def repetition(spec: dict[str, Any], bound: Bound, rep: int) -> dict[str, Any]:
    executor = EXECUTORS[spec["executor"]["name"]]
    workload = spec["workload"]
    ref = workloads.target(workload["name"])
    setup, summarize = workloads.companion(ref, "setup"), workloads.companion(ref, "summarize")
    indices = spec.get("probe_tasks") or []
    probed = probe(bound, indices) if indices and spec["executor"]["name"] != "serial" else None
    if setup is not None:
        setup(**workload["params"])
    loads = probes.load_average()
    t0 = time.perf_counter()
    pool = executor.start(spec["workers"], spec["start_method"], spec["executor"]["options"])
    ready = time.perf_counter()
    try:
        before = probes.snapshot(pool.pids())  # outside both timed phases
        own = time.process_time()
        t1 = time.perf_counter()
        records = pool.run(bound, range(workload["tasks"]))
        t2 = time.perf_counter()
        own = time.process_time() - own
        noise = probes.between(before, probes.snapshot(pool.pids()))
        rss = peak_rss_mb(pool.pids())
        metrics = pool.metrics()
    finally:
        pool.close()
    t3 = time.perf_counter()
    values = [r.value if r.ok else None for r in records]
    if summarize is not None:
        metrics.update(summarize(values, **workload["params"]))
    return {
        "metrics": metrics,
        "rep": rep,
        "warmup": rep < spec["warmup"],
        "startup_s": ready - t0,
        "wall_s": t2 - t1,
        "shutdown_s": t3 - t2,
        "peak_rss_mb": rss,
        # what this process spent handing tasks to workers elsewhere (pickling, the pool's threads):
        # the lab's own CPU, not another program's; where tasks ran here, already their processes' CPU
        "dispatch_cpu_s": own if os.getpid() not in {r.pid for r in records} else 0.0,
        "probe": probed,
        "load_1m": loads[0] if loads else None,
        **noise,
        **native.account((r.pid, r.process) for r in records),
        # times relative to the start of the task phase, for timelines
        "tasks": [
            [i, pid, tid, start - t1, end - t1, cpu, ok, error]
            for (i, pid, tid, start, end, cpu, ok, error, *_) in records
        ],
    }


def bind(spec: dict[str, Any], served: Mapping[str, Any] | None = None) -> task.Task:
    """The spec's workload as the task every worker runs, with the arguments it sends along."""
    workload = spec["workload"]
    ref = workloads.target(workload["name"])
    arguments = workloads.companion(ref, "arguments")
    extra = arguments(**workload["params"]) if arguments is not None else {}
    params = {**workload["params"], **extra, **(served or {})}
    threads = native.for_cell(spec)
    return task.Task(ref, params, spec["seed"], workload["fail_rate"], spec.get("switch_interval"), threads)


def serving(spec: dict[str, Any]) -> AbstractContextManager[Mapping[str, Any]]:
    """The workload's ``serve`` companion (a server around all repetitions), or nothing to serve."""
    workload = spec["workload"]
    serve = workloads.companion(workloads.target(workload["name"]), "serve")
    return serve(**workload["params"]) if serve is not None else nullcontext({})


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Warm-up repetitions, then counted ones; each starts and closes its own pool."""
    if spec.get("switch_interval") is not None:
        sys.setswitchinterval(spec["switch_interval"])
    threads = native.for_cell(spec)
    if threads is not None:  # before any pool loads: fork, forkserver and spawn inherit it
        os.environ.update(native.environment(threads))
    result: dict[str, Any] = {
        "schema": files.RESULT_SCHEMA,
        "interpreter": probes.describe_python(),
        "load_before": probes.load_average(),
        "status": "ok",
        "message": "",
        "native_limit": threads,
        "reps": [],
    }
    try:
        # the server stops on every way out: the last repetition, an error, Ctrl-C
        with serving(spec) as served:
            bound = bind(spec, served)
            for rep in range(spec["warmup"] + spec["repeats"]):
                result["reps"].append(repetition(spec, bound, rep))
            if spec.get("precision"):
                result["precision"] = more_until_precise(spec, bound, result["reps"])
    except Exception as exc:  # a broken pool is this cell's result, not a crash
        result["status"] = "error"
        result["message"] = f"{type(exc).__name__}: {exc}".strip()
        result["traceback"] = traceback.format_exc()
    result["load_after"] = probes.load_average()
    return result


def median_ci(values: list[float]) -> tuple[float, float] | None:
    """A distribution-free 95% CI of the median: order statistics, from the binomial law.

    None below 6 values, where no pair of order statistics covers the median 95% of the time.
    """
    n = len(values)
    ordered = sorted(values)
    below = 0.0  # P(Binomial(n, 1/2) < k), for growing k
    k = 0
    while below + math.comb(n, k) / 2**n <= 0.025:
        below += math.comb(n, k) / 2**n
        k += 1
    if k == 0:
        return None
    return ordered[k - 1], ordered[n - k]


def precision_of(reps: list[dict[str, Any]]) -> float | None:
    """The half-width of the 95% CI of the median of 1 / wall time, relative to that median.

    Every repetition of a cell divides the same serial reference (runner/core/pairing.py), so this
    is the precision of its median speedup, but for the reference's own, which the probes of
    the whole sweep make small.
    """
    rates = [1.0 / float(r["wall_s"]) for r in reps if not r["warmup"]]
    ci = median_ci(rates)
    if ci is None:
        return None
    return (ci[1] - ci[0]) / 2 / float(statistics.median(rates))


def more_until_precise(spec: dict[str, Any], bound: Bound, reps: list[dict[str, Any]]) -> dict[str, Any]:
    """``precision=``: add repetitions until the speedup's 95% CI is within +-precision, or
    the budget (``budget_s`` seconds, ``max_repeats`` repetitions) runs out; say which.

    Every added repetition is a pair (probe, then pool), like the first ones, so the
    order stays balanced however many are added.
    """
    target, budget, most = spec["precision"], spec["budget_s"], spec["max_repeats"]
    started = time.perf_counter()
    reached = precision_of(reps)
    while reached is None or reached > target:
        counted = sum(not r["warmup"] for r in reps)
        if counted >= most:
            stop = f"max_repeats={most} reached"
            break
        if time.perf_counter() - started >= budget:
            stop = f"budget_s={budget:g} spent"
            break
        reps.append(repetition(spec, bound, len(reps)))
        reached = precision_of(reps)
    else:
        stop = "reached"
    return {"target": target, "reached": reached, "met": stop == "reached", "stop": stop}


def told() -> tuple[str, str] | None:
    """``--wait``: the spec and result paths from stdin, once the sweep knows them, with stdout and
    stderr sent to the cell's files from here on; None if the sweep ends without a cell for it."""
    line = sys.stdin.readline()
    if not line:
        return None
    paths = json.loads(line)
    for fd, name in ((1, "stdout"), (2, "stderr")):
        opened = os.open(paths[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)  # the umask applies, as to open()
        os.dup2(opened, fd)
        os.close(opened)
    return paths["spec"], paths["result"]


def main(argv: list[str]) -> int:
    paths = told() if argv[1:] == ["--wait"] else (argv[1], argv[2])
    if paths is None:
        return 0
    spec_path, result_path = Path(paths[0]), Path(paths[1])
    spec = json.loads(spec_path.read_text())
    files.write_json(result_path, measure(spec))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
