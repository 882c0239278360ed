"""Threads racing on one shared counter (CLAIMS #3, #7).

Every task adds ``increments`` to a counter in its process's memory, reading it,
calling a function, then writing it back. CPython switches threads only at calls
and backward jumps, so without the call a plain ``x += 1`` loop almost never loses
an update on 3.11; with it, a switch between the read and the write loses every
update that other threads made meanwhile, as the seed's race shows.

``setup`` zeroes the counter in the cell before each repetition; ``summarize``
compares what the tasks added with what the cell's counter shows. Under threads the
two differ by the lost updates; under processes the cell's counter never moves at
all, because each worker process increments its own copy (processes share no memory).
"""

import contextlib
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal

# what calibrate=true scales: task cost grows in proportion to it
SIZE = "increments"


class _Shared:
    count = 0


_GUARDS: dict[str, AbstractContextManager[Any]] = {
    "none": contextlib.nullcontext(),
    "lock": threading.Lock(),
    "rlock": threading.RLock(),
}


def _next(value: int) -> int:
    return value + 1


def setup(**params: Any) -> None:
    _Shared.count = 0


def run(i: int, lock: Literal["none", "lock", "rlock"] = "none", increments: int = 200_000) -> int:
    """Increment the shared counter ``increments`` times under the chosen guard; returns how many."""
    guard = _GUARDS[lock]
    for _ in range(increments):
        with guard:
            value = _Shared.count
            _Shared.count = _next(value)  # the call is where another thread may run
    return increments


def summarize(values: Sequence[int | None], **params: Any) -> dict[str, int]:
    expected = sum(v for v in values if v is not None)
    return {"expected_count": expected, "observed_count": _Shared.count, "lost_updates": expected - _Shared.count}
