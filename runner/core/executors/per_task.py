"""A new thread or process for every task, subclassed as the seed shows (CLAIMS #1, #14).

Standard library only (measuring core). At most ``workers`` tasks run at once; each
pays its own start-up, which the pool reports as ``task_startup_s``: the median time
from creating a task's Thread or Process to the first instruction of its task (both
ends read ``perf_counter``, a system-wide clock on Linux and macOS). Pooled
executors pay start-up once, in ``startup_s``.

Memory: per-task processes have exited by the time the cell reads peak memory, so
``peak_rss_mb`` counts the cell process only.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import threading
import time
from collections.abc import Iterable, Mapping
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkProcess, ForkServerProcess, SpawnProcess
from multiprocessing.process import BaseProcess
from typing import Any

from runner.core.executors.base import Bound, BrokenPool, Pool
from runner.core.task import TaskRecord


class TaskThread(threading.Thread):
    """One task in a thread of its own: ``run`` is the task."""

    def __init__(self, bound: Bound, i: int, slots: threading.Semaphore) -> None:
        super().__init__(name=f"task-{i}")
        self.bound, self.i, self.slots = bound, i, slots
        self.record: TaskRecord | None = None

    def run(self) -> None:
        try:
            self.record = self.bound(self.i)
        finally:
            self.slots.release()


class TaskProcess(BaseProcess):
    """One task in a process of its own: ``run`` is the task; the record goes back by pipe.

    The three subclasses below pick the start method, as ``context.Process`` does.
    """

    def __init__(self, bound: Bound, i: int, sender: Connection) -> None:
        super().__init__(name=f"task-{i}")
        self.bound, self.i, self.sender = bound, i, sender

    def run(self) -> None:
        self.sender.send(self.bound(self.i))
        self.sender.close()


class ForkTaskProcess(TaskProcess, ForkProcess):
    pass


class SpawnTaskProcess(TaskProcess, SpawnProcess):
    pass


class ForkServerTaskProcess(TaskProcess, ForkServerProcess):
    pass


TASK_PROCESS: dict[str, type[TaskProcess]] = {
    "fork": ForkTaskProcess,
    "spawn": SpawnTaskProcess,
    "forkserver": ForkServerTaskProcess,
}


class _PerTask:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.startups: list[float] = []
        self._pids = {os.getpid()}

    def _landed(self, record: TaskRecord, launched: float) -> TaskRecord:
        self.startups.append(record.start_s - launched)
        return record

    def pids(self) -> set[int]:
        return self._pids

    def metrics(self) -> dict[str, float]:
        return {"task_startup_s": statistics.median(self.startups)} if self.startups else {}


class ThreadPerTask(_PerTask):
    def run(self, bound: Bound, indices: Iterable[int]) -> list[TaskRecord]:
        slots = threading.Semaphore(self.workers)
        started: list[tuple[TaskThread, float]] = []
        for i in indices:
            slots.acquire()
            launched = time.perf_counter()
            thread = TaskThread(bound, i, slots)
            thread.start()
            started.append((thread, launched))
        records = []
        for thread, launched in started:
            thread.join()
            if thread.record is None:
                raise BrokenPool(f"the thread of task {thread.i} ended without a result")
            records.append(self._landed(thread.record, launched))
        return records

    def close(self) -> None:
        pass


class ProcessPerTask(_PerTask):
    def __init__(self, workers: int, start_method: str) -> None:
        super().__init__(workers)
        self.context = multiprocessing.get_context(start_method)
        self.process = TASK_PROCESS[start_method]
        self.running: dict[Connection, tuple[TaskProcess, float]] = {}

    def _launch(self, bound: Bound, i: int) -> None:
        receiver, sender = self.context.Pipe(duplex=False)
        launched = time.perf_counter()
        process = self.process(bound, i, sender)
        process.start()
        sender.close()  # the child holds the only sending end: its death reads as EOF
        self.running[receiver] = (process, launched)

    def _collect(self) -> TaskRecord:
        receiver = wait(list(self.running))[0]
        assert isinstance(receiver, Connection)
        process, launched = self.running.pop(receiver)
        try:
            record: TaskRecord = receiver.recv()
        except EOFError:
            process.join()
            raise BrokenPool(
                f"the process of task {process.name} died without a result (exit code {process.exitcode})"
            ) from None
        finally:
            receiver.close()
        process.join()
        return self._landed(record, launched)

    def run(self, bound: Bound, indices: Iterable[int]) -> list[TaskRecord]:
        records = []
        for i in indices:
            while len(self.running) >= self.workers:
                records.append(self._collect())
            self._launch(bound, i)
        while self.running:
            records.append(self._collect())
        return records

    def close(self) -> None:
        for process, _ in self.running.values():  # left behind by a task that broke the run
            process.terminate()
            process.join()


def start_thread_per_task(workers: int, start_method: str, options: Mapping[str, Any]) -> Pool:
    return ThreadPerTask(workers)


def start_process_per_task(workers: int, start_method: str, options: Mapping[str, Any]) -> Pool:
    return ProcessPerTask(workers, start_method)
