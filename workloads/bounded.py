"""A semaphore of ``permits`` in front of the work: the seed's "semaphore of 4" (CLAIMS #3).

Each task enters a ``threading.BoundedSemaphore(permits)``, notes how many tasks are
inside, sleeps ``seconds`` and leaves; ``summarize`` reports the most ever inside at
once. The semaphore lives in a process's memory: under processes every worker has
its own, and one task at a time is inside each.
"""

import threading
import time
from collections.abc import Sequence
from typing import Any

# what calibrate=true scales: task cost grows in proportion to it
SIZE = "seconds"


class _Room:
    lock = threading.Lock()
    semaphore: threading.BoundedSemaphore | None = None
    permits = 0
    inside = 0


def _semaphore(permits: int) -> threading.BoundedSemaphore:
    # A spawned worker never saw the cell's setup: it makes its own on first use.
    with _Room.lock:
        if _Room.semaphore is None or _Room.permits != permits:
            _Room.semaphore, _Room.permits, _Room.inside = threading.BoundedSemaphore(permits), permits, 0
        return _Room.semaphore


def setup(**params: Any) -> None:
    with _Room.lock:
        _Room.semaphore = None


def run(i: int, permits: int = 4, seconds: float = 0.02) -> int:
    """Pass through the semaphore; returns how many tasks were inside when this one entered."""
    if permits < 1:
        raise ValueError(f"permits={permits}: expected at least 1")
    with _semaphore(permits):
        with _Room.lock:
            _Room.inside += 1
            seen = _Room.inside
        try:
            time.sleep(seconds)
        finally:
            with _Room.lock:
                _Room.inside -= 1
    return seen


def summarize(values: Sequence[int | None], **params: Any) -> dict[str, int]:
    return {"peak_inside": max((v for v in values if v is not None), default=0)}
