"""The measuring core: one cell spec in, one result out, in a fresh interpreter.

``python -m runner.cell SPEC.json RESULT.json``. Standard library only, so that
spawn and forkserver pay the start-up of a lean program, and so that a cell can run
under another interpreter that has none of the runner's dependencies.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import sysconfig
import time
import traceback
from pathlib import Path
from typing import Any

import workloads
from runner import native, task
from runner.executors import EXECUTORS, Bound

RESULT_SCHEMA = 1


def interpreter() -> dict[str, Any]:
    """What runs this cell: version, implementation, and the GIL, built and live."""
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil": bool(is_gil_enabled()) if is_gil_enabled is not None else True,
    }


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


def load_average() -> list[float] | None:
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def repetition(spec: dict[str, Any], bound: Bound, rep: int) -> dict[str, Any]:
    executor = EXECUTORS[spec["executor"]["name"]]
    workload = spec["workload"]
    ref = workloads.reference(workload["name"])
    setup, summarize = workloads.companion(ref, "setup"), workloads.companion(ref, "summarize")
    if setup is not None:
        setup(**workload["params"])
    t0 = time.perf_counter()
    pool = executor.start(spec["workers"], spec["start_method"], spec["executor"]["options"])
    t1 = time.perf_counter()
    try:
        records = pool.run(bound, range(workload["tasks"]))
        t2 = time.perf_counter()
        rss = peak_rss_mb(pool.pids())
        metrics = pool.metrics()
    finally:
        pool.close()
    t3 = time.perf_counter()
    values = [r[8] if r[6] else None for r in records]
    if summarize is not None:
        metrics.update(summarize(values, **workload["params"]))
    return {
        "metrics": metrics,
        "rep": rep,
        "warmup": rep < spec["warmup"],
        "startup_s": t1 - t0,
        "wall_s": t2 - t1,
        "shutdown_s": t3 - t2,
        "peak_rss_mb": rss,
        **native.account((r[1], r[9]) for r in records),
        # times relative to the start of the task phase, for timelines
        "tasks": [
            [i, pid, tid, start - t1, end - t1, cpu, ok, error]
            for (i, pid, tid, start, end, cpu, ok, error, *_) in records
        ],
    }


def bind(spec: dict[str, Any]) -> task.Task:
    """The spec's workload as the task every worker runs, with the arguments it sends along."""
    workload = spec["workload"]
    ref = workloads.reference(workload["name"])
    arguments = workloads.companion(ref, "arguments")
    extra = arguments(**workload["params"]) if arguments is not None else {}
    params = {**workload["params"], **extra}
    threads = native.resolve(native.parse(spec.get("native_threads")), min(spec["workers"], workload["tasks"]))
    return task.Task(ref, params, spec["seed"], workload["fail_rate"], spec.get("switch_interval"), threads)


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Warm-up repetitions, then counted ones; each starts and closes its own pool."""
    bound = bind(spec)
    if bound.native_threads is not None:  # before any pool loads: fork, forkserver and spawn inherit it
        os.environ.update(native.environment(bound.native_threads))
    if spec.get("switch_interval") is not None:
        sys.setswitchinterval(spec["switch_interval"])
    result: dict[str, Any] = {
        "schema": RESULT_SCHEMA,
        "interpreter": interpreter(),
        "load_before": load_average(),
        "status": "ok",
        "message": "",
        "native_limit": bound.native_threads,
        "reps": [],
    }
    try:
        for rep in range(spec["warmup"] + spec["repeats"]):
            result["reps"].append(repetition(spec, bound, rep))
    except Exception as exc:  # a broken pool is this cell's result, not a crash
        result["status"] = "error"
        result["message"] = f"{type(exc).__name__}: {exc}".strip()
        result["traceback"] = traceback.format_exc()
    result["load_after"] = load_average()
    return result


def write_json(path: Path, data: Any) -> None:
    """Write atomically: a reader sees the whole file or none."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    spec_path, result_path = Path(argv[1]), Path(argv[2])
    spec = json.loads(spec_path.read_text())
    write_json(result_path, measure(spec))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
