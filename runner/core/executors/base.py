"""The executor interface: what every way of running tasks provides, and what they share.

Standard library only (measuring core). An executor starts a pool that is *ready* (every
worker started and initialised, timed as start-up), runs a batch of tasks on it, reports the
pids that took part and any figures of its own, and closes. This module never imports an
executor: each implementation (one module per family beside it) imports this one, and the
registry (``runner/core/executors/__init__.py``) names them.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor as FuturesExecutor
from dataclasses import dataclass
from typing import Any, Protocol

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


# Why an executor cannot run a workload (by name) here, or None; the second argument names the
# other executors, for the message's "allowed:".
Refusal = Callable[[str, Sequence[str]], str | None]


@dataclass(frozen=True)
class Option:
    """An executor's own key under ``executor.`` in the config, with its type and default."""

    name: str
    type: Any
    default: Any


@dataclass(frozen=True)
class Executor:
    """One registry entry: where the executor lives, which config axes mean something to it,
    what it refuses and its own options. The pool's module is imported only when a cell starts
    one, so a cell pays for no executor but its own (and dask's packages only for dask)."""

    name: str
    # "module:function" in runner/core/executors/: the StartPool
    start_ref: str
    uses_start_method: bool
    uses_workers: bool = True
    # "module:function" in runner/core/executors/: a Refusal, asked in validation before any cell
    refuses_ref: str | None = None
    # keys beyond ``name`` that conf/executor/NAME.yaml may set (the config's schema is built from them)
    options: tuple[Option, ...] = ()
    # the other registered executors (filled in by the registry)
    others: tuple[str, ...] = ()

    def start(self, workers: int, start_method: str, options: Mapping[str, Any]) -> Pool:
        fn: StartPool = _resolve(self.start_ref)
        return fn(workers, start_method, options)

    def refuses(self, workload: str) -> str | None:
        if self.refuses_ref is None:
            return None
        fn: Refusal = _resolve(self.refuses_ref)
        return fn(workload, self.others)


def _resolve(ref: str) -> Any:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(f"runner.core.executors.{module}"), name)


def wait_for_everyone(barrier: Any) -> None:
    # Runs as each worker's initializer: no worker takes a task before all exist,
    # so the pool starts every worker during start-up, not lazily during the tasks.
    # The cell itself is not a party: it waits on the workers' first results, which a
    # broken pool fails at once, where a party to a barrier with a dead worker waits.
    barrier.wait(READY_TIMEOUT_S)


def pid() -> int:
    return os.getpid()


class SeenPids:
    """A pool whose pids are those its tasks ran in (plus its own), and no figures of its own."""

    _pids: set[int]

    def _seen(self, records: list[TaskRecord]) -> list[TaskRecord]:
        self._pids.update(r.pid for r in records)
        return records

    def pids(self) -> set[int]:
        return self._pids

    def metrics(self) -> dict[str, float]:
        return {}


class SubmittingPool(SeenPids):
    """Tasks submitted to a ``concurrent.futures``-style executor; its pids are those seen."""

    def __init__(self, executor: FuturesExecutor, pids: set[int]) -> None:
        self._executor = executor
        self._pids = pids

    def run(self, bound: Bound, indices: Iterable[int]) -> list[TaskRecord]:
        futures = [self._executor.submit(bound, i) for i in indices]
        return self._seen([f.result() for f in futures])

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class FuturesPool(SubmittingPool):
    """Any ``concurrent.futures`` executor, made ready before the task phase."""

    def __init__(self, executor: FuturesExecutor, workers: int, cell_side: Any = None) -> None:
        ready = [executor.submit(pid) for _ in range(workers)]
        if cell_side is not None:  # a barrier the cell must take part in to release the workers
            cell_side.wait(READY_TIMEOUT_S)
        super().__init__(executor, {os.getpid()} | {f.result(READY_TIMEOUT_S) for f in ready})
