"""Progress of a sweep in the terminal: a live bar on a TTY, plain lines elsewhere.

The bar (rich) shows cells done of N, elapsed time, an ETA from the cells so far
and the current cell's overrides; finished cells print above it. Under CI, in a
pipe, or in a job that a launcher runs in another process, each cell is one line.
"""

from __future__ import annotations

import os
import statistics
from typing import Any, ClassVar

from runner.core import pairing


class SweepProgress:
    """One per sweep, in the process that launches the jobs; absent elsewhere."""

    current: ClassVar[SweepProgress | None] = None

    def __init__(self, total: int) -> None:
        # rich is imported where a bar is drawn: --help and one-line errors import this module too
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

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
        from rich.console import Console

        if Console().is_terminal and not os.environ.get("CI") and total > 1:
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


def counted(record: dict[str, Any]) -> list[dict[str, Any]]:
    if record["result"]["status"] != "ok":
        return []
    return [r for r in record["result"]["reps"] if not r["warmup"]]


def summary_line(prefix: str, record: dict[str, Any], base: dict[str, Any], fresh: bool) -> str:
    result = record["result"]
    reps = counted(record)
    if not reps:
        return f"{prefix}  {result['status'].upper()}: {result['message']}"
    wall = statistics.median(r["wall_s"] for r in reps)
    par = statistics.median(pairing.busy_cpu(r) / r["wall_s"] for r in reps)
    pool = [t for t in (pairing.per_task(r.get("probe")) for r in reps) if t is not None]
    paired = [s for s in pairing.speedups(reps, counted(base), pool) if s is not None]
    speedup = f"{statistics.median(paired):5.2f}x" if paired else "   n/a"
    how = "" if fresh else "  (already measured)"
    return f"{prefix}  wall {wall:8.4f} s  speedup {speedup}  parallelism {par:5.2f}{how}"
