"""A task that fails on purpose, for testing what a cell does when work goes wrong.

Task ``at`` raises (``mode: raise``: counted in ``errors``, the cell goes on), ends
its process at once with ``os._exit`` (``mode: exit``: a process pool breaks; under
thread or serial executors the cell's own interpreter ends), or never returns
(``mode: hang``: the cell's ``timeout_s`` ends it), or crashes its interpreter with a
segmentation fault (``mode: segv``: a null pointer read through ctypes; under thread or
serial executors the cell's interpreter dies, which the cell records). Every other task
sleeps ``seconds``.
"""

import ctypes
import os
import time
from typing import Literal

EXIT_CODE = 70  # EX_SOFTWARE: recognisable in a cell's message


def run(i: int, mode: Literal["raise", "exit", "hang", "segv"] = "raise", at: int = 0, seconds: float = 0.01) -> int:
    if mode not in ("raise", "exit", "hang", "segv"):
        raise ValueError(f"mode {mode!r}: expected raise, exit, hang or segv")
    if i == at:
        if mode == "raise":
            raise RuntimeError(f"task {i} fails on purpose (fault mode=raise)")
        if mode == "exit":
            os._exit(EXIT_CODE)
        if mode == "segv":
            ctypes.string_at(0)  # reads address 0: SIGSEGV, as a buggy C extension would
        while True:  # mode == "hang"
            time.sleep(3600)
    time.sleep(seconds)
    return i
