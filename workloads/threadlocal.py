"""Per-thread state: ``threading.local`` against one dict shared under a lock (CLAIMS #7).

Each task adds ``updates`` to its thread's tally, kept either in a ``threading.local``
(``mode: local``: no lock needed, no thread sees another's) or in a dict keyed by
thread id that every access locks (``mode: shared``). Both give each thread its own
tally; the local one pays no lock for it.
"""

import os
import threading
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

# what calibrate=true scales: task cost grows in proportion to it
SIZE = "updates"


class _State:
    local = threading.local()
    shared: ClassVar[dict[int, int]] = {}
    lock = threading.Lock()


def setup(**params: Any) -> None:
    # the serial executor reuses the cell's thread: a repetition starts from no state
    _State.local = threading.local()
    _State.shared.clear()


def run(i: int, mode: Literal["local", "shared"] = "local", updates: int = 200_000) -> list[int]:
    """Add ``updates`` to this thread's tally; returns [pid, thread id, tally afterwards]."""
    me = threading.get_ident()
    if mode == "local":
        state = _State.local
        if not hasattr(state, "tally"):
            state.tally = 0
        for _ in range(updates):
            state.tally += 1
        tally: int = state.tally
    else:
        with _State.lock:
            _State.shared.setdefault(me, 0)
        for _ in range(updates):
            with _State.lock:
                _State.shared[me] += 1
        tally = _State.shared[me]
    return [os.getpid(), me, tally]


def summarize(values: Sequence[list[int] | None], **params: Any) -> dict[str, int]:
    """How many per-thread states the tasks kept (one per thread that ran any)."""
    return {"thread_states": len({(v[0], v[1]) for v in values if v is not None})}
