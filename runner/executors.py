"""The executor registry: one small strategy per way of running tasks.

Standard library only (measuring core). An executor starts a pool that is *ready*
(every worker started and initialised, timed as start-up), runs a batch of tasks on
it, reports the pids that took part, and closes. Adding one is a function and an
entry in ``EXECUTORS`` plus a YAML in ``conf/executor/``.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor as FuturesExecutor
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from runner.task import TaskRecord

Bound = Callable[[int], TaskRecord]
READY_TIMEOUT_S = 120.0


class Pool(Protocol):
    def run(self, bound: Bound, indices: Iterable[int]) -> list[TaskRecord]: ...

    def pids(self) -> set[int]: ...

    def close(self) -> None: ...


StartPool = Callable[[int, str, Mapping[str, Any]], Pool]


@dataclass(frozen=True)
class Executor:
    """How to start a ready pool, and which config axes mean something to it."""

    start: StartPool
    uses_start_method: bool
    uses_workers: bool = True


class SerialPool:
    """Tasks one after another in the cell's main thread: the speedup baseline."""

    def run(self, bound: Bound, indices: Iterable[int]) -> list[TaskRecord]:
        return [bound(i) for i in indices]

    def pids(self) -> set[int]:
        return {os.getpid()}

    def close(self) -> None:
        pass


def _wait_for_everyone(barrier: Any) -> None:
    # Runs as each worker's initializer: no worker takes a task before all exist,
    # so the pool starts every worker during start-up, not lazily during the tasks.
    barrier.wait(READY_TIMEOUT_S)


def _pid() -> int:
    return os.getpid()


class FuturesPool:
    """Any ``concurrent.futures`` executor, made ready before the task phase."""

    def __init__(self, executor: FuturesExecutor, barrier: Any, workers: int) -> None:
        self._executor = executor
        ready = [executor.submit(_pid) for _ in range(workers)]
        barrier.wait(READY_TIMEOUT_S)
        self._pids = {os.getpid()} | {f.result() for f in ready}

    def run(self, bound: Bound, indices: Iterable[int]) -> list[TaskRecord]:
        futures = [self._executor.submit(bound, i) for i in indices]
        records = [f.result() for f in futures]
        self._pids.update(r[1] for r in records)
        return records

    def pids(self) -> set[int]:
        return self._pids

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def start_serial(workers: int, start_method: str, options: Mapping[str, Any]) -> Pool:
    return SerialPool()


def start_thread(workers: int, start_method: str, options: Mapping[str, Any]) -> Pool:
    barrier = threading.Barrier(workers + 1)
    executor = ThreadPoolExecutor(workers, initializer=_wait_for_everyone, initargs=(barrier,))
    return FuturesPool(executor, barrier, workers)


def start_process(workers: int, start_method: str, options: Mapping[str, Any]) -> Pool:
    context = multiprocessing.get_context(start_method)
    barrier = context.Barrier(workers + 1)
    executor = ProcessPoolExecutor(workers, mp_context=context, initializer=_wait_for_everyone, initargs=(barrier,))
    return FuturesPool(executor, barrier, workers)


EXECUTORS: dict[str, Executor] = {
    "serial": Executor(start_serial, uses_start_method=False, uses_workers=False),
    "thread": Executor(start_thread, uses_start_method=False),
    "process": Executor(start_process, uses_start_method=True),
}
