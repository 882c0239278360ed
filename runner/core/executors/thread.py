"""thread: concurrent.futures.ThreadPoolExecutor, every worker started before the tasks."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from runner.core.executors.base import FuturesPool, Pool, wait_for_everyone


def start_thread(workers: int, start_method: str, options: Mapping[str, Any]) -> Pool:
    barrier = threading.Barrier(workers)
    executor = ThreadPoolExecutor(workers, initializer=wait_for_everyone, initargs=(barrier,))
    return FuturesPool(executor, workers)
