"""Pools inside pools: every task runs its own inner thread pool (the seed's homework 3 and 4, CLAIMS #11).

Each task starts a ``ThreadPoolExecutor`` of ``inner_workers`` threads and runs
``inner_tasks`` sleeps of ``seconds`` on it. ``summarize`` reports the most threads
alive at once in one worker process, as the inner tasks saw it: under a thread pool
of W workers that reaches 1 + W + W x inner_workers, and nothing deadlocks.
"""

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# what calibrate=true scales: task cost grows in proportion to it
SIZE = "inner_tasks"


def _inner(seconds: float) -> int:
    time.sleep(seconds)
    return threading.active_count()


def run(i: int, inner_workers: int = 4, inner_tasks: int = 8, seconds: float = 0.01) -> int:
    """Run the inner pool; returns the most threads alive that an inner task saw."""
    with ThreadPoolExecutor(inner_workers, thread_name_prefix=f"inner-{i}") as pool:
        return max(pool.map(_inner, [seconds] * inner_tasks), default=threading.active_count())


def summarize(values: Sequence[int | None], **params: Any) -> dict[str, int]:
    return {"peak_threads": max((v for v in values if v is not None), default=0)}
