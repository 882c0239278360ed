"""Progress of a sweep in the terminal: a live bar on a TTY, plain lines elsewhere.

The bar (rich) shows cells done of N, elapsed time, an ETA from the cells so far
and the current cell's overrides; finished cells print above it. Under CI, in a
pipe, or in a job that a launcher runs in another process, each cell is one line.
"""

from __future__ import annotations

import os
from typing import ClassVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class SweepProgress:
    """One per sweep, in the process that launches the jobs; absent elsewhere."""

    current: ClassVar[SweepProgress | None] = None

    def __init__(self, total: int) -> None:
        self._progress = Progress(
            TextColumn("[bold]cells"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),
            console=Console(highlight=False),
            transient=True,
        )
        self._task = self._progress.add_task("", total=total)

    @classmethod
    def start(cls, total: int) -> None:
        console = Console()
        if console.is_terminal and not os.environ.get("CI") and total > 1:
            cls.current = cls(total)
            cls.current._progress.start()

    @classmethod
    def stop(cls) -> None:
        if cls.current is not None:
            cls.current._progress.stop()
            cls.current = None


def cell_started(overrides: str) -> None:
    if SweepProgress.current is not None:
        bar = SweepProgress.current
        bar._progress.update(bar._task, description=overrides)


def cell_line(line: str, done: bool = True) -> None:
    """Print a finished cell's line (above the bar, where there is one)."""
    bar = SweepProgress.current
    if bar is None:
        print(line, flush=True)
        return
    bar._progress.console.print(line, highlight=False, markup=False)
    if done:
        bar._progress.advance(bar._task)
