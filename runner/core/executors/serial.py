"""serial: tasks one after another in the cell's main thread, the speedup baseline."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from runner.core.executors.base import Bound, Pool
from runner.core.task import TaskRecord


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


def start_serial(workers: int, start_method: str, options: Mapping[str, Any]) -> Pool:
    return SerialPool()
