"""Native thread pools (BLAS, OpenMP): the CPU they burn, the pools seen, and their limits.

Standard library only (measuring core). threadpoolctl is optional and imported lazily,
only in a process that has loaded a package known to start native pools, so a cell of
pure-Python work pays nothing for it (a spawned worker stays a lean program).

CPU: every task reads its process's CPU clock (all threads: the task's, the native
pools', the executor's own) as it starts and ends; per process, the span from its first
task's start to its last task's end is the CPU that process burnt on the cell's tasks.
This is the process's own accounting, so it works wherever a task runs: a pool worker,
a process per task, a subinterpreter, a remote dask worker.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Iterable
from functools import cache
from types import ModuleType
from typing import Any

# The variables that size native pools in interpreters started afresh (dask's nanny and
# joblib's loky set the same ones); a pool already loaded ignores them, hence threadpoolctl.
ENV_VARS = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
)  # fmt: skip
# Packages that load BLAS or OpenMP runtimes; threadpoolctl is asked only once one is loaded.
NATIVE_MODULES = ("numpy", "scipy", "sklearn", "torch", "numba", "polars", "pyarrow", "jax", "tensorflow")
AUTO = "auto"

# What one task saw of its process: (process CPU at its start, at its end, pools text,
# largest native pool, OS threads). The last three are read once per process.
Reading = tuple[float, float, str, int | None, int]


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), which a container may cap below cpu_count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def parse(value: Any) -> int | str | None:
    """The ``native_threads`` setting: None (leave the pools alone), ``auto``, or a count >= 1.

    Raises ValueError with the allowed values.
    """
    if value is None or value == "":
        return None
    if str(value).strip().lower() == AUTO:
        return AUTO
    try:
        count = int(str(value))
    except ValueError:
        count = 0
    if count < 1 or isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{value} is not a thread count; allowed: auto or an integer of at least 1")
    return count


def resolve(setting: int | str | None, in_flight: int) -> int | None:
    """The native threads each worker may use: ``auto`` shares the CPUs among the tasks in flight.

    joblib's rule (loky limits inner threads to cpu_count // n_jobs), so that tasks in
    flight x native threads stays within the CPUs.
    """
    if setting == AUTO:
        return max(1, usable_cpus() // max(1, in_flight))
    return None if setting is None else int(setting)


def for_cell(spec: dict[str, Any]) -> int | None:
    """The native pool size each worker of a cell spec gets (``native_threads``), None to leave
    the libraries' default."""
    in_flight = min(spec["workers"], spec["workload"]["tasks"])
    return resolve(parse(spec.get("native_threads")), in_flight)


def environment(limit: int) -> dict[str, str]:
    """The environment that sizes every native pool of an interpreter started afresh."""
    return dict.fromkeys(ENV_VARS, str(limit))


@cache
def _threadpoolctl() -> ModuleType | None:
    try:
        return importlib.import_module("threadpoolctl")
    except ImportError:
        return None


def _native_loaded() -> bool:
    return any(name in sys.modules for name in NATIVE_MODULES)


_limited: dict[int, int] = {}


def limit(threads: int) -> None:
    """Limit every native pool loaded in this process to ``threads``, once per process.

    Call it after the workload's module is imported (its pools are loaded then); the
    environment variables cover pools loaded later in interpreters started with them.
    """
    if _limited.get(os.getpid()) == threads or not _native_loaded():
        return  # done, or nothing loaded yet: the next task asks again
    module = _threadpoolctl()
    if module is not None:
        module.threadpool_limits(limits=threads)  # applies now, for the life of the process
    _limited[os.getpid()] = threads


def os_threads() -> int:
    """The OS threads of this process (native pools included); Python's own count where /proc is absent."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        import threading

        return threading.active_count()


# by (pid, limit applied): a process that limits its pools later sees them again
_seen: dict[tuple[int, int | None], tuple[str, int | None, int]] = {}


def seen() -> tuple[str, int | None, int]:
    """This process's native pools (``internal_api/user_api xN``, by threadpoolctl), their
    largest size, and its OS threads; read once per process, after its first task."""
    pid = os.getpid()
    key = (pid, _limited.get(pid))
    if key not in _seen:
        module = _threadpoolctl() if _native_loaded() else None
        pools: list[dict[str, Any]] = module.threadpool_info() if module is not None else []
        text = "; ".join(sorted({f"{p['internal_api']}/{p['user_api']} x{p['num_threads']}" for p in pools}))
        largest = max((int(p["num_threads"]) for p in pools), default=None)
        _seen[key] = (text, largest, os_threads())
    return _seen[key]


def process_cpu() -> float:
    """This process's CPU time, every thread included."""
    return time.process_time()


def account(readings: Iterable[tuple[int, Reading]]) -> dict[str, Any]:
    """A repetition's figures from its tasks' ``(pid, reading)``: the CPU of every process that
    ran tasks (first task's start to last task's end, all threads), and the pools seen."""
    spans: dict[int, tuple[float, float]] = {}
    pools: set[str] = set()
    largest: int | None = None
    threads = 0
    for pid, (cpu0, cpu1, text, native, os_count) in readings:
        low, high = spans.get(pid, (cpu0, cpu1))
        spans[pid] = (min(low, cpu0), max(high, cpu1))
        pools.update(p for p in text.split("; ") if p)
        if native is not None:
            largest = max(largest or 0, native)
        threads = max(threads, os_count)
    return {
        "process_cpu_s": sum(high - low for low, high in spans.values()),
        "native_pools": "; ".join(sorted(pools)),
        "native_threads_seen": largest,
        "os_threads": threads,
    }
