"""process and mp_pool: ProcessPoolExecutor and multiprocessing.Pool, in the start method of the cell.

Standard library only (measuring core).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.pool import AsyncResult
from typing import Any

from runner.core.executors.base import (
    POLL_S,
    READY_TIMEOUT_S,
    Bound,
    BrokenPool,
    FuturesPool,
    Pool,
    SeenPids,
    pid,
    wait_for_everyone,
)
from runner.core.task import TaskRecord


def _children() -> set[int]:
    """The pids of this process's live multiprocessing children (reaping those that ended)."""
    return {p.pid for p in multiprocessing.active_children() if p.pid is not None}


class MpPool(SeenPids):
    """``multiprocessing.Pool``, made ready as ``FuturesPool`` is.

    Pool replaces a worker that dies but never returns the task it held, so waiting
    for that result would last forever; the cell watches its workers instead and
    fails as a broken ``ProcessPoolExecutor`` does.
    """

    def __init__(self, pool: Any, workers: int) -> None:
        self._pool = pool
        ready = [pool.apply_async(pid) for _ in range(workers)]
        for r in ready:
            r.get(READY_TIMEOUT_S)
        self._workers = _children()
        self._pids = {os.getpid()} | self._workers
        self._broken = False

    def _result(self, pending: AsyncResult[TaskRecord]) -> TaskRecord:
        while True:
            try:
                return pending.get(POLL_S)
            except multiprocessing.TimeoutError:
                if self._workers - _children():
                    self._broken = True
                    raise BrokenPool("a multiprocessing.Pool worker died; its task would never return") from None

    def run(self, bound: Bound, indices: Iterable[int]) -> list[TaskRecord]:
        pending = [self._pool.apply_async(bound, (i,)) for i in indices]
        return self._seen([self._result(p) for p in pending])

    def close(self) -> None:
        if self._broken:
            self._pool.terminate()  # close() would wait for the lost task
        else:
            self._pool.close()
        self._pool.join()


def start_process(workers: int, start_method: str, options: Mapping[str, Any]) -> Pool:
    context = multiprocessing.get_context(start_method)
    barrier = context.Barrier(workers)
    executor = ProcessPoolExecutor(workers, mp_context=context, initializer=wait_for_everyone, initargs=(barrier,))
    return FuturesPool(executor, workers)


def start_mp_pool(workers: int, start_method: str, options: Mapping[str, Any]) -> Pool:
    context = multiprocessing.get_context(start_method)
    barrier = context.Barrier(workers)
    return MpPool(context.Pool(workers, initializer=wait_for_everyone, initargs=(barrier,)), workers)
