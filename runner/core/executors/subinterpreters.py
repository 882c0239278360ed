"""The interpreter executor: a pool of subinterpreters, each with its own GIL (PEP 734).

Standard library only (measuring core), plus the ``interpreters-pep-734`` backport
where it is installed. Python 3.14 has ``concurrent.futures.InterpreterPoolExecutor``;
on 3.12 and 3.13 the backport offers the same class. Tasks and their records cross
between interpreters pickled, as they cross between processes, but within one process.
"""

from __future__ import annotations

import importlib
import platform
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runner.core.executors.base import READY_TIMEOUT_S, FuturesPool, Pool

# (module with InterpreterPoolExecutor, module and function that create a cross-interpreter queue)
SOURCES = (
    ("concurrent.futures", "concurrent.interpreters", "create_queue"),  # Python 3.14
    ("interpreters_backport.concurrent.futures", "interpreters_backport.interpreters.queues", "create"),
)


def _find() -> tuple[type[Any], Callable[[], Any]] | None:
    for pool_module, queue_module, create in SOURCES:
        try:
            executor = getattr(importlib.import_module(pool_module), "InterpreterPoolExecutor", None)
            queue = getattr(importlib.import_module(queue_module), create)
        except (ImportError, AttributeError):
            continue
        if executor is not None:
            return executor, queue
    return None


def missing(others: Sequence[str] = ()) -> str | None:
    """Why this Python cannot run the interpreter executor, or None."""
    if _find() is not None:
        return None
    return (
        "interpreter needs concurrent.futures.InterpreterPoolExecutor (Python 3.14) or, on Python 3.12"
        f" and 3.13, the backport (pip install interpreters-pep-734); this is Python {platform.python_version()};"
        f" allowed: executors {', '.join(others)}"
    )


def _arrive(arrived: Any, go: Any) -> None:
    # Each worker interpreter's initializer: it blocks until every worker has arrived, so
    # the pool starts them all during start-up (threading.Barrier cannot cross interpreters).
    arrived.put(None)
    go.get(timeout=READY_TIMEOUT_S)


class QueueBarrier:
    """The cell's side of ``_arrive``: what ``FuturesPool`` waits on, as on a threading.Barrier."""

    def __init__(self, create_queue: Callable[[], Any], workers: int) -> None:
        self.arrived, self.go, self.workers = create_queue(), create_queue(), workers

    def wait(self, timeout: float) -> None:
        for _ in range(self.workers):
            self.arrived.get(timeout=timeout)
        for _ in range(self.workers):
            self.go.put(None)


def start_interpreter(workers: int, start_method: str, options: Mapping[str, Any]) -> Pool:
    found = _find()
    if found is None:
        raise RuntimeError(missing())
    executor_class, create_queue = found
    barrier = QueueBarrier(create_queue, workers)
    executor = executor_class(workers, initializer=_arrive, initargs=(barrier.arrived, barrier.go))
    return FuturesPool(executor, workers, cell_side=barrier)


def refuses(workload: str, others: Sequence[str]) -> str | None:
    return missing(others)
