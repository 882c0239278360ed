"""The scaling fits of a report, computed in a process forked before matplotlib is imported.

The speedup figure draws the fits (runner/results/fits.py). Fitted in the process that draws
the figure, they add the import of scipy.optimize (0.3 s here) and the fits themselves (0.5 s
on 1,000 cells) to the drawing, which keeps both CPUs of a small machine busy; yet just
before it, while the report imports matplotlib, the other CPU idles. So where the speedup
figure is to be drawn and the platform can fork, the report forks this process as soon as it
knows, and the process that draws the figure takes the fits from it (docs/overhead.md).
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection

import pandas as pd

from runner.results import fits

NAME = "concurrency-lab fits"  # the process's name, as multiprocessing knows it


def _fit(summary: pd.DataFrame, sender: Connection) -> None:
    try:
        fitted: pd.DataFrame | None = fits.fit(summary)
    except Exception:  # the drawing process fits again, and reports the error as the figure's
        fitted = None
    sender.send(fitted)
    sender.close()


class Fitting:
    """``fits.fit(summary)`` in a process forked now; ``result`` waits for it. One process
    reads it (the one that draws the speedup figure); ``close`` ends it, read or not."""

    def __init__(self, summary: pd.DataFrame) -> None:
        self._summary = summary
        context = multiprocessing.get_context("fork")
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_fit, args=(summary, sender), name=NAME, daemon=True)
        self._process.start()
        sender.close()

    def result(self) -> pd.DataFrame:
        """The fits from the process, or fitted here where it failed."""
        try:
            fitted = self._receiver.recv()
        except (EOFError, OSError):
            fitted = None
        return fitted if isinstance(fitted, pd.DataFrame) else fits.fit(self._summary)

    def close(self) -> None:
        self._receiver.close()
        self._process.terminate()  # a process whose fits no one read would wait to send them
        self._process.join()
