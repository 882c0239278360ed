"""The executor registry: one small strategy per way of running tasks.

Standard library only (measuring core). An executor starts a pool that is *ready*
(every worker started and initialised, timed as start-up), runs a batch of tasks on
it, reports the pids that took part and any figures of its own, and closes. Adding
one is a function and an entry in ``EXECUTORS`` plus a YAML in ``conf/executor/``.
Executors with modules of their own are imported only by cells that use them, so
a spawned worker pays for none of the others.
"""

from __future__ import annotations

import importlib
import importlib.util
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor as FuturesExecutor
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult
from typing import Any, Protocol

import workloads
from runner.core.task import Task, TaskRecord

Bound = Task
READY_TIMEOUT_S = 120.0
# How often a multiprocessing.Pool cell looks for a dead worker while it waits.
POLL_S = 0.2


class Pool(Protocol):
    def run(self, bound: Bound, indices: Iterable[int]) -> list[TaskRecord]: ...

    def pids(self) -> set[int]: ...

    def metrics(self) -> dict[str, float]:
        """The executor's own figures for results.csv (none for most)."""
        ...

    def close(self) -> None: ...


StartPool = Callable[[int, str, Mapping[str, Any]], Pool]


class BrokenPool(RuntimeError):
    """A worker died and took its task with it."""


def _accepts(workload: str) -> str | None:
    return None


@dataclass(frozen=True)
class Executor:
    """How to start a ready pool, and which config axes mean something to it."""

    start: StartPool
    uses_start_method: bool
    uses_workers: bool = True
    # Why this executor cannot run a workload (by name) here, or None: validation asks
    # before any cell runs.
    refuses: Callable[[str], str | None] = _accepts


class SerialPool:
    """Tasks one after another in the cell's main thread: the speedup baseline."""

    def run(self, bound: Bound, indices: Iterable[int]) -> list[TaskRecord]:
        return [bound(i) for i in indices]

    def pids(self) -> set[int]:
        return {os.getpid()}

    def metrics(self) -> dict[str, float]:
        return {}

    def close(self) -> None:
        pass


def _wait_for_everyone(barrier: Any) -> None:
    # Runs as each worker's initializer: no worker takes a task before all exist,
    # so the pool starts every worker during start-up, not lazily during the tasks.
    # The cell itself is not a party: it waits on the workers' first results, which a
    # broken pool fails at once, where a party to a barrier with a dead worker waits.
    barrier.wait(READY_TIMEOUT_S)


def _pid() -> int:
    return os.getpid()


class SubmittingPool:
    """Tasks submitted to a ``concurrent.futures``-style executor; its pids are those seen."""

    def __init__(self, executor: FuturesExecutor, pids: set[int]) -> None:
        self._executor = executor
        self._pids = pids

    def run(self, bound: Bound, indices: Iterable[int]) -> list[TaskRecord]:
        futures = [self._executor.submit(bound, i) for i in indices]
        records = [f.result() for f in futures]
        self._pids.update(r[1] for r in records)
        return records

    def pids(self) -> set[int]:
        return self._pids

    def metrics(self) -> dict[str, float]:
        return {}

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class FuturesPool(SubmittingPool):
    """Any ``concurrent.futures`` executor, made ready before the task phase."""

    def __init__(self, executor: FuturesExecutor, workers: int, cell_side: Any = None) -> None:
        ready = [executor.submit(_pid) for _ in range(workers)]
        if cell_side is not None:  # a barrier the cell must take part in to release the workers
            cell_side.wait(READY_TIMEOUT_S)
        super().__init__(executor, {os.getpid()} | {f.result(READY_TIMEOUT_S) for f in ready})


def _children() -> set[int]:
    """The pids of this process's live multiprocessing children (reaping those that ended)."""
    return {p.pid for p in multiprocessing.active_children() if p.pid is not None}


class MpPool:
    """``multiprocessing.Pool``, made ready as ``FuturesPool`` is.

    Pool replaces a worker that dies but never returns the task it held, so waiting
    for that result would last forever; the cell watches its workers instead and
    fails as a broken ``ProcessPoolExecutor`` does.
    """

    def __init__(self, pool: Any, workers: int) -> None:
        self._pool = pool
        ready = [pool.apply_async(_pid) for _ in range(workers)]
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
        records = [self._result(p) for p in pending]
        self._pids.update(r[1] for r in records)
        return records

    def pids(self) -> set[int]:
        return self._pids

    def metrics(self) -> dict[str, float]:
        return {}

    def close(self) -> None:
        if self._broken:
            self._pool.terminate()  # close() would wait for the lost task
        else:
            self._pool.close()
        self._pool.join()


def start_serial(workers: int, start_method: str, options: Mapping[str, Any]) -> Pool:
    return SerialPool()


def start_thread(workers: int, start_method: str, options: Mapping[str, Any]) -> Pool:
    barrier = threading.Barrier(workers)
    executor = ThreadPoolExecutor(workers, initializer=_wait_for_everyone, initargs=(barrier,))
    return FuturesPool(executor, workers)


def start_process(workers: int, start_method: str, options: Mapping[str, Any]) -> Pool:
    context = multiprocessing.get_context(start_method)
    barrier = context.Barrier(workers)
    executor = ProcessPoolExecutor(workers, mp_context=context, initializer=_wait_for_everyone, initargs=(barrier,))
    return FuturesPool(executor, workers)


def start_mp_pool(workers: int, start_method: str, options: Mapping[str, Any]) -> Pool:
    context = multiprocessing.get_context(start_method)
    barrier = context.Barrier(workers)
    return MpPool(context.Pool(workers, initializer=_wait_for_everyone, initargs=(barrier,)), workers)


def _elsewhere(ref: str) -> StartPool:
    """A start function from a module imported only when a cell uses it."""

    def start(workers: int, start_method: str, options: Mapping[str, Any]) -> Pool:
        module, _, name = ref.partition(":")
        fn: StartPool = getattr(importlib.import_module(f"runner.{module}"), name)
        return fn(workers, start_method, options)

    return start


def with_coroutine_form() -> list[str]:
    """The workloads the asyncio executor can run."""
    found = []
    for name, ref in sorted(workloads.available().items()):
        try:
            if workloads.coroutine_form(ref) is not None:
                found.append(name)
        except ImportError:  # a broken plugin does not hide the others
            continue
    return found


def _needs_coroutine_form(workload: str) -> str | None:
    if workloads.coroutine_form(workloads.reference(workload)) is not None:
        return None
    return (
        f"asyncio runs a workload's coroutine form (run_async) and workload {workload!r} has none;"
        f" allowed: workloads {', '.join(with_coroutine_form())}, or another executor"
    )


def _needs_dask(workload: str) -> str | None:
    if importlib.util.find_spec("distributed") is None:
        return "dask needs dask.distributed, an optional extra; allowed: pip install 'concurrency-lab[dask]'"
    return None


def _needs_interpreters(workload: str) -> str | None:
    from runner.core.executors.subinterpreters import missing

    return missing()


EXECUTORS: dict[str, Executor] = {
    "serial": Executor(start_serial, uses_start_method=False, uses_workers=False),
    "thread": Executor(start_thread, uses_start_method=False),
    "process": Executor(start_process, uses_start_method=True),
    "mp_pool": Executor(start_mp_pool, uses_start_method=True),
    "thread_per_task": Executor(_elsewhere("per_task:start_thread_per_task"), uses_start_method=False),
    "process_per_task": Executor(_elsewhere("per_task:start_process_per_task"), uses_start_method=True),
    "asyncio": Executor(_elsewhere("aio:start_asyncio"), uses_start_method=False, refuses=_needs_coroutine_form),
    "interpreter": Executor(
        _elsewhere("subinterpreters:start_interpreter"), uses_start_method=False, refuses=_needs_interpreters
    ),
    # not standard library: imported in the cell only when a spec names it
    "dask": Executor(_elsewhere("executor_dask:start_dask"), uses_start_method=True, refuses=_needs_dask),
}
