"""Progress of a sweep in the terminal: a live bar on a TTY, plain lines elsewhere.

The bar (rich) shows cells done of N, elapsed time, an ETA from the cells so far
and the current cell's overrides; finished cells print above it. Under CI, in a
pipe, or in a job that a launcher runs in another process, each cell is one line.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field
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


@dataclass
class _Pool:
    """A workload's probes so far in one sweep, pooled as the summary pools all of them
    (pairing.probe_pools): what a job's line divides by."""

    base_reps: list[dict[str, Any]] = field(default_factory=list)  # the baseline's, over rounds
    probes: list[float] = field(default_factory=list)
    indices: list[int] | None = None
    seen: set[tuple[str, Any]] = field(default_factory=set)  # (cell, round)

    def add(self, record: dict[str, Any], base: dict[str, Any]) -> None:
        if (record["cell"], record["round"]) in self.seen:
            return
        self.seen.add((record["cell"], record["round"]))
        if record["cell"] == record["baseline"] and record["result"]["status"] == "ok":
            self.base_reps += counted(record)
        found, probed = pairing.probes_of(record, base, self.base_reps)
        self.probes += found
        self.indices = probed or self.indices

    def reference(self) -> list[float]:
        if not self.probes or self.indices is None:
            return []
        return self.probes + pairing.baseline_samples(self.base_reps, self.indices)


# Per sweep directory and baseline: a pool kept as the lines come, so that a line costs the same at
# the 500th cell as at the first.
_POOLS: dict[tuple[str, str], _Pool] = {}


def _speedup(sweep: str, record: dict[str, Any], base: dict[str, Any]) -> str:
    """The median speedup as the summary will judge it: beyond what the cell's tasks in flight on this
    machine's CPUs permit (work that only computes), flagged, not quoted (runner/results/aggregate.py)."""
    pool = _POOLS.setdefault((sweep, record["baseline"]), _Pool())
    for known in (base, record):
        pool.add(known, base)
    base_reps = pool.base_reps
    paired = [s for s in pairing.speedups(counted(record), base_reps, pool.reference()) if s is not None]
    if not paired:
        return "   n/a"
    speedup = statistics.median(paired)
    shares = [b for b in map(pairing.task_cpu_share, (r["tasks"] for r in base_reps)) if b is not None]
    busy = statistics.median(shares) if shares else None
    in_flight, cores = min(record["spec"]["workers"], record["spec"]["workload"]["tasks"]), _cores()
    limit = pairing.capacity(busy, pairing.outside_share(base_reps), in_flight, cores)
    if limit is not None and speedup > limit * (1 + pairing.CAPACITY_SLACK):
        return f"impossible ({speedup:.2f}x > {limit:g}, the most {in_flight} task(s) in flight on {cores} CPUs permit)"
    # the serial cell is the reference's own measure, near 1 by construction: never "at limit" (aggregate.py)
    serial = record["spec"]["executor"]["name"] == "serial"
    return f"{speedup:5.2f}x" + (" at limit" if limit is not None and speedup > limit and not serial else "")


def _cores() -> int:
    """The CPUs this sweep's cells can use, as environment.json records them: its affinity."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def summary_line(prefix: str, record: dict[str, Any], base: dict[str, Any], fresh: bool, sweep: str) -> str:
    """A job's line: its cell's median wall time, speedup and parallelism; ``sweep``, its directory."""
    result = record["result"]
    reps = counted(record)
    if not reps:
        return f"{prefix}  {result['status'].upper()}: {result['message']}"
    wall = statistics.median(r["wall_s"] for r in reps)
    par = statistics.median(pairing.busy_cpu(r) / r["wall_s"] for r in reps)
    how = "" if fresh else "  (already measured)"
    speedup = _speedup(sweep, record, base)
    return f"{prefix}  wall {wall:8.4f} s  speedup {speedup}  parallelism {par:5.2f}{how}"
