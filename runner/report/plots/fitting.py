"""The scaling fits of a report, computed in a process forked before matplotlib is imported.

The speedup figure draws the fits (runner/results/fits.py). Fitted in the process that draws
the figure, they add the import of scipy.optimize (0.3 s here) and the fits themselves (0.5 s
on 1,000 cells) to the drawing, which keeps both CPUs of a small machine busy; yet just
before it, while the report imports matplotlib, the other CPU idles. So where the speedup
figure is to be drawn and the platform can fork, the report forks this process as soon as it
knows, and the process that draws the figure takes the fits from it (docs/overhead.md).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from multiprocessing.connection import Connection

import pandas as pd

from runner.results import fits

# How the tests tell this process from the drawing processes, which fit where it did not.
NAME = "concurrency-lab fits"
# Fits that take longer (a process stopped, or starved) are fitted by the reader instead.
WAIT_S = 60.0


def _fit(summary: pd.DataFrame, receiver: Connection, sender: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the report's to handle; it ends this one
    receiver.close()  # the reader's end only: where the reader is gone, sending fails instead of blocking
    try:
        fitted: pd.DataFrame | None = fits.fit(summary)
    except Exception:  # the reader fits again, and the error becomes the figure's
        fitted = None
    with contextlib.suppress(OSError):  # no reader left
        sender.send(fitted)


class Fitting:
    """``fits.fit(summary)`` in a process forked now. One process reads ``result`` (the one
    that draws the speedup figure); ``close`` ends the process, read or not."""

    def __init__(self, summary: pd.DataFrame) -> None:
        context = multiprocessing.get_context("fork")
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_fit, args=(summary, self._receiver, sender), name=NAME, daemon=True)
        self._process.start()
        sender.close()  # so that the reader sees the end of the pipe if the process dies unsent

    def result(self) -> pd.DataFrame | None:
        """The fits, or None where the process failed, ended, or took longer than WAIT_S."""
        try:  # the process sends a frame, or None where fitting raised
            return self._receiver.recv() if self._receiver.poll(WAIT_S) else None
        except (EOFError, OSError):
            return None

    def close(self) -> None:
        self._receiver.close()
        self._process.terminate()  # a process whose fits no one read would wait to send them
        self._process.join()
