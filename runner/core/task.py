"""What runs around every task, inside the worker: timing and failure capture.

Standard library only (measuring core). Everything here is top-level so that every
executor can pickle a reference to it, under every start method.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple, TypeVar

import workloads
from runner.core import native


class TaskRecord(NamedTuple):
    """One record per task; a tuple keeps the pickled result small for tiny tasks, and a cell
    record's JSON stores it as a list in this order (``TaskRecord(*row)`` reads one back)."""

    task: int
    pid: int
    thread: int  # thread id
    start_s: float
    end_s: float
    cpu_s: float
    ok: bool
    error: str
    value: Any
    process: native.Reading  # what it saw of its process: its CPU around the task, its native pools


def stored(row: Sequence[Any]) -> TaskRecord:
    """A record as a cell record's JSON keeps it (a list); records written before ``value`` and
    ``process`` existed have 8 fields, the missing ones read as None."""
    return TaskRecord(*row, *([None] * (len(TaskRecord._fields) - len(row))))


T = TypeVar("T")


class InjectedFailure(RuntimeError):
    """Raised by tasks that ``fail_rate`` selects."""


@cache
def _function(ref: str) -> Callable[..., Any]:
    return workloads.load(ref)


@cache
def _coroutine_function(ref: str) -> Callable[..., Coroutine[Any, Any, Any]]:
    fn = workloads.coroutine_form(ref)
    if fn is None:  # validation refuses this before any cell runs; a hand-written spec may not
        raise TypeError(f"workload {ref!r} has no coroutine form")
    return fn


def fails(i: int, seed: int, fail_rate: float) -> bool:
    """Deterministic choice of failing tasks: the same seed fails the same tasks everywhere."""
    if fail_rate <= 0:
        return False
    digest = hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fail_rate


def _inject(i: int, seed: int, fail_rate: float) -> None:
    if fails(i, seed, fail_rate):
        raise InjectedFailure(f"task {i} selected by fail_rate={fail_rate}")


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def call(ref: str, i: int, params: dict[str, Any], seed: int, fail_rate: float) -> TaskRecord:
    """Run task ``i`` of workload ``ref`` and time it where it runs.

    CPU time is ``thread_time`` taken inside the task: it counts only this task's
    thread, so threads that wait on the GIL are not charged for it.
    """
    fn = _function(ref)
    start = time.perf_counter()
    process0 = native.process_cpu()
    cpu0 = time.thread_time()
    ok, error, value = True, "", None
    try:
        _inject(i, seed, fail_rate)
        value = fn(i, **params)
    except Exception as exc:  # a failing task is counted, never fatal (CLAIMS #9)
        ok, error = False, _describe(exc)
    cpu = time.thread_time() - cpu0
    process1 = native.process_cpu()
    end = time.perf_counter()
    reading = (process0, process1, *native.seen())
    return TaskRecord(i, os.getpid(), threading.get_ident(), start, end, cpu, ok, error, value, reading)


@types.coroutine
def _charged(coro: Coroutine[Any, Any, T], cpu: list[float]) -> Generator[Any, Any, T]:
    """Drive ``coro`` as the event loop would, adding the CPU of each of its steps to cpu[0].

    Every coroutine of a cell shares the loop's thread, so ``thread_time`` around a whole
    task would charge it for the other tasks' steps run while it awaited; between two
    awaits, the thread runs this coroutine alone.
    """
    sent: Any = None
    thrown: BaseException | None = None
    while True:
        step = time.thread_time()
        try:
            yielded = coro.send(sent) if thrown is None else coro.throw(thrown)
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            cpu[0] += time.thread_time() - step
        try:
            sent, thrown = (yield yielded), None
        except BaseException as exc:  # cancellation from the loop: the coroutine must see it
            sent, thrown = None, exc


async def call_async(ref: str, i: int, params: dict[str, Any], seed: int, fail_rate: float) -> TaskRecord:
    """The coroutine form of ``call``, for the asyncio executor.

    Wall times as ``call``; ``cpu_s`` is the thread CPU of this task's own steps (see
    ``_charged``). Work a coroutine hands to another thread (``asyncio.to_thread``) is
    not charged to it.
    """
    fn = _coroutine_function(ref)
    start = time.perf_counter()
    process0 = native.process_cpu()
    cpu = [0.0]
    ok, error, value = True, "", None
    try:
        _inject(i, seed, fail_rate)
        value = await _charged(fn(i, **params), cpu)
    except Exception as exc:
        ok, error = False, _describe(exc)
    process1 = native.process_cpu()
    end = time.perf_counter()
    reading = (process0, process1, *native.seen())
    return TaskRecord(i, os.getpid(), threading.get_ident(), start, end, cpu[0], ok, error, value, reading)


@dataclass(frozen=True)
class Task:
    """A workload bound to its parameters: what an executor sends to its workers.

    Called with a task index it runs the plain form; ``coroutine(i)`` is the
    coroutine form. Picklable, so every executor and start method can ship it.
    """

    ref: str
    params: dict[str, Any]
    seed: int
    fail_rate: float
    switch_interval: float | None = None
    # the size every native pool (BLAS, OpenMP) of the worker is limited to; None leaves them
    native_threads: int | None = None

    def __call__(self, i: int) -> TaskRecord:
        self._apply_settings()
        return call(self.ref, i, self.params, self.seed, self.fail_rate)

    def coroutine(self, i: int) -> Awaitable[TaskRecord]:
        self._apply_settings()
        return call_async(self.ref, i, self.params, self.seed, self.fail_rate)

    def _apply_settings(self) -> None:
        # in the task, so that workers a pool spawned afresh get it too
        if self.switch_interval is not None:
            sys.setswitchinterval(self.switch_interval)
        if self.native_threads is not None:
            _function(self.ref)  # imports the workload's module, which loads its native pools
            native.limit(self.native_threads)
