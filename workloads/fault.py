"""A task that fails on purpose, for testing what a cell does when work goes wrong.

Task ``at`` raises (``mode: raise``: counted in ``errors``, the cell goes on), ends
its process at once with ``os._exit`` (``mode: exit``: a process pool breaks; under
thread or serial executors the cell's own interpreter ends), or never returns
(``mode: hang``: the cell's ``timeout_s`` ends it), or crashes its interpreter with a
segmentation fault (``mode: segv``: a null pointer read through ctypes; under thread or
serial executors the cell's interpreter dies, which the cell records), allocates memory
without end (``mode: alloc``, 8 MiB every ``seconds``: the cell's ``memory_mb`` ends it) or
forks without end (``mode: fork``, a sleeping child every ``seconds``: ``max_procs`` ends
it). Every other task sleeps ``seconds``.
"""

import ctypes
import os
import time
from typing import Literal, get_args

EXIT_CODE = 70  # EX_SOFTWARE: recognisable in a cell's message
CHUNK = 8 * 2**20
_held: list[bytes] = []  # what mode alloc allocated, kept alive


def _runaway(mode: str, seconds: float) -> None:
    """Grow at a bounded pace, so that a broken limit fails a test before it hurts the machine."""
    while True:
        if mode == "alloc":
            _held.append(os.urandom(16) * (CHUNK // 16))  # written pages: resident memory
        elif os.fork() == 0:
            time.sleep(3600)
            os._exit(0)
        time.sleep(seconds)


Mode = Literal["raise", "exit", "hang", "segv", "alloc", "fork"]
MODES = get_args(Mode)


def run(i: int, mode: Mode = "raise", at: int = 0, seconds: float = 0.01) -> int:
    if mode not in MODES:
        raise ValueError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
    if i == at:
        if mode == "raise":
            raise RuntimeError(f"task {i} fails on purpose (fault mode=raise)")
        if mode == "exit":
            os._exit(EXIT_CODE)
        if mode == "segv":
            ctypes.string_at(0)  # reads address 0: SIGSEGV, as a buggy C extension would
        if mode in ("alloc", "fork"):
            _runaway(mode, seconds)
        while True:  # mode == "hang"
            time.sleep(3600)
    time.sleep(seconds)
    return i
