"""When CPython's cyclic garbage collector runs in the lab's commands: not while they import,
and not at exit.

Importing Hydra, pandas and matplotlib builds some 180,000 objects (classes, functions, module
dicts) that live as long as the process. While they are built, the collector runs again and
again and walks every one of them (about 0.1 s of the 0.7 s that a summary's imports take here,
docs/overhead.md), though none is garbage. So a command imports inside ``importing()``: no
collection meanwhile, then ``gc.freeze`` moves every object the process holds where no later
collection walks it, and the collector is on again. Freezing before the report forks its drawing
processes also keeps those pages shared with them, as the ``gc.freeze`` documentation advises.
What is frozen is never collected: cycles an import leaves (few, and mostly kept by the modules
that made them), and any garbage cycle the command made before (a short-lived command gives all
its memory back at exit anyway).

At exit CPython collects once more before it clears the modules, for memory the process is
about to give back whole: 0.1 to 0.2 s of a report or sweep. Frozen objects are skipped; every
atexit handler and flush still runs, but objects in reference cycles are not collected, so their
``__del__`` does not run: the lab closes its files where it writes them (runner/files.py).
"""

from __future__ import annotations

import atexit
import functools
import gc
from collections.abc import Iterator
from contextlib import contextmanager

_in_command: list[bool] = []  # holds True once the process is one of the lab's commands


@functools.cache  # once per process: one freeze at exit
def command() -> None:
    """Call first in a command's ``__main__`` or entry point. Where the lab is a library (a
    notebook drawing a report), nothing is frozen: the notebook's own objects stay collectable."""
    _in_command.append(True)
    atexit.register(gc.freeze)


@contextmanager
def importing() -> Iterator[None]:
    """In a command: import inside, with no collection while modules load and none that walks
    what they built afterwards."""
    if not _in_command:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
