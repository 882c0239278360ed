"""When CPython's cyclic garbage collector runs in the lab's commands: not while they import,
and not at exit.

Importing Hydra, pandas and matplotlib builds some 180,000 objects (classes, functions, module
dicts) that live as long as the process. While they are built, the collector runs again and
again and walks every one of them (about 0.1 s of the 0.7 s that a summary's imports take here,
docs/overhead.md), though none is garbage. So a command imports inside ``importing()``: no
collection meanwhile, then ``gc.freeze`` moves what the imports built where no later collection
walks it, which also keeps those pages shared with the processes that draw figures after a fork
(the pattern the ``gc.freeze`` documentation gives). Objects built while the collector is off
and left in reference cycles are never collected: an import leaves few, and they are kept
anyway by the modules that made them.

At exit CPython collects once more before it clears the modules, for memory the process is
about to give back whole: 0.1 to 0.2 s of a report or sweep. Frozen objects are skipped; every
atexit handler and flush still runs, but objects in reference cycles are not collected, so their
``__del__`` does not run: the lab closes its files where it writes them (runner/files.py).
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager

_command: list[bool] = []  # set where the process is one of the lab's commands


def command() -> None:
    """Call first in a command's ``__main__`` or entry point: the process is the lab's, so its
    collector is too. Where the lab is a library (a notebook drawing a report), nothing is frozen:
    the notebook's own objects must stay collectable."""
    _command.append(True)
    atexit.register(gc.freeze)


@contextmanager
def importing() -> Iterator[None]:
    """In a command: import inside, with no collection while modules load and none that walks
    what they built afterwards."""
    if not _command:
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
