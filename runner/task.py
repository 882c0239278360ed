"""What runs around every task, inside the worker: timing and failure capture.

Standard library only (measuring core). Functions here are top-level so that every
executor can pickle a reference to them, under every start method.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from functools import cache
from typing import Any

import workloads

# One record per task; a tuple keeps the pickled result small for tiny tasks.
# (task, pid, thread id, start_s, end_s, cpu_s, ok, error, value)
TaskRecord = tuple[int, int, int, float, float, float, bool, str, Any]


class InjectedFailure(RuntimeError):
    """Raised by tasks that ``fail_rate`` selects."""


@cache
def _function(ref: str) -> Any:
    return workloads.load(ref)


def fails(i: int, seed: int, fail_rate: float) -> bool:
    """Deterministic choice of failing tasks: the same seed fails the same tasks everywhere."""
    if fail_rate <= 0:
        return False
    digest = hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fail_rate


def call(
    ref: str, i: int, *, params: dict[str, Any], seed: int, fail_rate: float, switch_interval: float | None = None
) -> TaskRecord:
    """Run task ``i`` of workload ``ref`` and time it where it runs.

    CPU time is ``thread_time`` taken inside the task: it counts only this task's
    thread, so threads that wait on the GIL are not charged for it.
    """
    if switch_interval is not None:  # here, so that spawned workers get it too
        sys.setswitchinterval(switch_interval)
    fn = _function(ref)
    start = time.perf_counter()
    cpu0 = time.thread_time()
    ok, error, value = True, "", None
    try:
        if fails(i, seed, fail_rate):
            raise InjectedFailure(f"task {i} selected by fail_rate={fail_rate}")
        value = fn(i, **params)
    except Exception as exc:  # a failing task is counted, never fatal (CLAIMS #9)
        ok, error = False, f"{type(exc).__name__}: {exc}"
    cpu = time.thread_time() - cpu0
    end = time.perf_counter()
    return (i, os.getpid(), threading.get_ident(), start, end, cpu, ok, error, value)
