"""Leaving a command: quickly, and with one clear line where it fails.

At exit CPython collects garbage once more before it clears the modules, walking every object
that pandas, matplotlib and Hydra created: 0.1 to 0.2 s of a report or sweep, for memory the
process is about to give back whole (docs/overhead.md). Frozen objects are skipped; every atexit
handler and flush still runs, but objects in reference cycles are not collected, so their
``__del__`` does not run: the lab closes its files where it writes them (runner/files.py).
"""

from __future__ import annotations

import atexit
import gc
import sys


def without_final_collection() -> None:
    """Call in a command's ``__main__`` or entry point."""
    atexit.register(gc.freeze)


def print_error(message: str) -> None:
    """``error: MESSAGE`` as one line on stderr, every character that is not printable escaped as
    Python writes it (``\\x1e``, ``\\n``): a value from a shared YAML file or a received directory
    can neither break the line (str.splitlines also ends lines at \\x1c to \\x1e) nor send escape
    sequences to the user's terminal."""
    line = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in message)
    print(f"error: {line}", file=sys.stderr)
