"""Leaving a command quickly.

At exit CPython collects garbage once more before it clears the modules, walking every object
that pandas, matplotlib and Hydra created: 0.1 to 0.2 s of a report or sweep, for memory the
process is about to give back whole (docs/overhead.md). Frozen objects are skipped; every atexit
handler and flush still runs, but objects in reference cycles are not collected, so their
``__del__`` does not run: the lab closes its files where it writes them (runner/files.py).
"""

from __future__ import annotations

import atexit
import gc


def without_final_collection() -> None:
    """Call in a command's ``__main__`` or entry point."""
    atexit.register(gc.freeze)
