"""The asyncio executor: the workload's coroutine form on one event loop, ``workers`` in flight.

Standard library only (measuring core). Start-up is creating the loop; every task is
``Task.coroutine`` behind an ``asyncio.Semaphore(workers)``. All coroutines share the
cell's thread, so a task's ``cpu_s`` is the CPU of its own steps between awaits
(see ``runner.core.task.call_async``) and parallelism cannot exceed 1.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import workloads
from runner.core.executors.base import Bound, Pool
from runner.core.task import TaskRecord


class AsyncioPool:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.loop = asyncio.new_event_loop()

    async def _all(self, bound: Bound, indices: Iterable[int]) -> list[TaskRecord]:
        slots = asyncio.Semaphore(self.workers)

        async def one(i: int) -> TaskRecord:
            async with slots:
                return await bound.coroutine(i)

        return list(await asyncio.gather(*(one(i) for i in indices)))

    def run(self, bound: Bound, indices: Iterable[int]) -> list[TaskRecord]:
        return self.loop.run_until_complete(self._all(bound, indices))

    def pids(self) -> set[int]:
        return {os.getpid()}

    def metrics(self) -> dict[str, float]:
        return {}

    def close(self) -> None:
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()


def start_asyncio(workers: int, start_method: str, options: Mapping[str, Any]) -> Pool:
    return AsyncioPool(workers)


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


def refuses(workload: str, others: Sequence[str]) -> str | None:
    if workloads.coroutine_form(workloads.target(workload)) is not None:
        return None
    return (
        f"asyncio runs a workload's coroutine form (run_async) and workload {workload!r} has none;"
        f" allowed: workloads {', '.join(with_coroutine_form())}, or another executor"
    )
