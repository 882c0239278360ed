"""A task that fails on purpose, for testing what a cell does when work goes wrong.

Task ``at`` raises (``mode: raise``: counted in ``errors``, the cell goes on), ends
its process at once with ``os._exit`` (``mode: exit``: a process pool breaks; under
thread or serial executors the cell's own interpreter ends), or never returns
(``mode: hang``: the cell's ``timeout_s`` ends it). Every other task sleeps ``seconds``.
"""

import os
import time
from typing import Literal

EXIT_CODE = 70  # EX_SOFTWARE: recognisable in a cell's message


def run(i: int, mode: Literal["raise", "exit", "hang"] = "raise", at: int = 0, seconds: float = 0.01) -> int:
    if mode not in ("raise", "exit", "hang"):
        raise ValueError(f"mode {mode!r}: expected raise, exit or hang")
    if i == at:
        if mode == "raise":
            raise RuntimeError(f"task {i} fails on purpose (fault mode=raise)")
        if mode == "exit":
            os._exit(EXIT_CODE)
        while True:  # mode == "hang"
            time.sleep(3600)
    time.sleep(seconds)
    return i
