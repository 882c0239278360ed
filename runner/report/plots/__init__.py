"""The report's figures, each drawn from the tidy tables alone, one module per figure:

- ``speedup``      speedup against workers, CI bands, ideal line, Amdahl and USL fits
- ``parallelism``  concurrency (tasks in flight) against parallelism (CPU s per wall s)
- ``efficiency``   speedup / workers as a heatmap, executor x workers, per workload
- ``startup``      pool start-up time by executor and start method
- ``timeline``     Gantt of chosen cells: a row per worker, a bar per task
- ``latency``      task latency distribution per cell

``common`` holds what they share (colours, markers, facets, saving as PNG and SVG).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from runner.report.plots import efficiency, latency, parallelism, speedup, startup, timeline
from runner.results import fits
from runner.results.environment import smt_note
from runner.results.load import Sweep


@dataclass(frozen=True)
class Figure:
    name: str  # file stem under plots/
    title: str
    caption: str  # how to read it, for the report


FIGURES = [
    Figure(
        "speedup",
        "Speedup against workers",
        "Median speedup over the serial baseline (band: bootstrap 95% CI over the repetitions), one panel per "
        "workload. The thick grey line is the ideal for work that computes, min(workers, usable CPUs); work that "
        "waits (sleep, IO) needs no CPU to wait and can pass it. Dashed lines are the Amdahl fit, dotted the USL "
        "fit (table below). A red cross marks a speedup the cell's own accounting rules out (more than its tasks "
        "in flight or its CPUs permit): a measurement error, flagged and not judged. Workers on a log2 axis.",
    ),
    Figure(
        "concurrency_parallelism",
        "Concurrency against parallelism",
        "The seed's coffee machines. x: tasks in flight (concurrency); y: CPU seconds per wall second "
        "(parallelism). A curve along the grey diagonal runs every task at once on its own core (two machines for "
        "two queues); a curve flat at 1 takes turns on one core (two queues, one machine: threads under the GIL); "
        "a curve near 0 waits rather than computes (sleep, IO). Nothing rises above the red line of the cores. "
        "y counts every thread of the processes that ran tasks; the dotted line is the task threads alone, and the "
        "gap between them is CPU outside the tasks (native BLAS/OpenMP pools, the pool's machinery). A red ring "
        "marks an oversubscribed cell: tasks in flight x native threads above the cores.",
    ),
    Figure(
        "efficiency",
        "Efficiency heatmap",
        "Speedup divided by workers: 1 (green) is perfect scaling, 0 (red) is none. An asterisk marks a cell "
        "with repetitions missing from results.csv.",
    ),
    Figure(
        "startup",
        "Start-up cost",
        "Time from creating the pool until every worker is ready, median over repetitions pooled over workloads "
        "(band: fastest to slowest repetition), log scale. Threads start in microseconds; processes in "
        "milliseconds, spawn slowest.",
    ),
    Figure(
        "timeline",
        "Task timelines",
        "One repetition (the one of median length) of chosen cells: one row per worker, one bar per task, "
        "shaded by the share of its wall time the task spent on a CPU. Pale, long, overlapping bars are threads "
        "taking turns on the GIL.",
    ),
    Figure(
        "latency",
        "Task latency",
        "Per cell, the time each task took from start to end in its worker, over all repetitions: quartiles "
        "(thick bar), 5th to 95th percentile (line), median (dot); log scale.",
    ),
]


# What the figures are drawn from, set before the worker processes fork so that they
# inherit it instead of unpickling a copy of every table.
_JOB: dict[str, tuple[Sweep, list[str], Path]] = {}
# Slowest first, so that the processes finish together.
ORDER = ["latency", "speedup", "concurrency_parallelism", "efficiency", "timeline", "startup"]


def _paint(name: str) -> tuple[list[Path], pd.DataFrame | None]:
    """One figure's files; the speedup figure also returns the fits it draws."""
    sweep, cells, out = _JOB["current"]
    path = out / f"{name}.png"
    summary = sweep.summary
    if name == "speedup":
        fitted = fits.fit(summary)
        cpus = f"CPUs ({smt_note(sweep.environment)})" if smt_note(sweep.environment) else "CPUs"
        return speedup.draw(summary, fitted, sweep.cores, path, cpus), fitted
    if name == "concurrency_parallelism":
        return parallelism.draw(summary, sweep.cores, path), None
    if name == "efficiency":
        return efficiency.draw(summary, path), None
    if name == "startup":
        return startup.draw(summary, path), None
    if name == "timeline":
        return timeline.draw(summary, sweep.tasks, cells, path), None
    return latency.draw(summary, sweep.tasks, path), None


class Painter:
    """Draws the figures into ``out``, in worker processes where the platform can fork,
    while the caller goes on (judging verdicts, writing tables); the scaling fits are
    computed with the speedup figure, which draws them.

        with Painter(sweep, None, out) as painter:
            ...
            fitted = painter.fits()
            figures = painter.results()
    """

    def __init__(self, sweep: Sweep, timeline_cells: list[str] | None, out: Path, processes: int | None = None) -> None:
        out.mkdir(parents=True, exist_ok=True)
        cells = timeline.default_cells(sweep.summary) if timeline_cells is None else timeline_cells
        _JOB["current"] = (sweep, cells, out)
        processes = min(len(ORDER), os.cpu_count() or 1) if processes is None else processes
        self.failed: dict[str, str] = {}
        self._done: dict[str, tuple[list[Path], pd.DataFrame | None]] = {}
        self._pool: ProcessPoolExecutor | None = None
        if processes > 1 and "fork" in multiprocessing.get_all_start_methods():
            self._pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"))
            self._futures = {name: self._pool.submit(_paint, name) for name in ORDER}

    def _get(self, name: str) -> tuple[list[Path], pd.DataFrame | None]:
        if name not in self._done:
            try:
                self._done[name] = self._futures[name].result() if self._pool is not None else _paint(name)
            except Exception as exc:  # a figure's bug must not cost the whole report
                self.failed[name] = f"{type(exc).__name__}: {exc}"
                self._done[name] = ([], None)
        return self._done[name]

    def fits(self) -> pd.DataFrame:
        """The scaling fits (runner/fits.py), as drawn on the speedup figure."""
        fitted = self._get("speedup")[1]
        return fitted if fitted is not None else fits.fit(_JOB["current"][0].summary)

    def results(self) -> dict[str, list[Path]]:
        """Each drawn figure's files, in the report's order; figures without data are left
        out, and so are figures that failed (``failed`` says why: the rest of the report
        is still worth having)."""
        drawn = {name: self._get(name)[0] for name in ORDER}
        return {f.name: drawn[f.name] for f in FIGURES if drawn[f.name]}

    def __enter__(self) -> Painter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
        _JOB.clear()


def draw(sweep: Sweep, timeline_cells: list[str] | None, out: Path) -> dict[str, list[Path]]:
    """Every figure, drawn into ``out``."""
    with Painter(sweep, timeline_cells, out) as painter:
        return painter.results()
