"""The report's figures, each drawn from the tidy tables alone, one module per figure:

- ``speedup``      speedup against workers, CI bands, ideal line, Amdahl and USL fits
- ``parallelism``  concurrency (tasks in flight) against parallelism (CPU s per wall s)
- ``efficiency``   speedup / workers as a heatmap, executor x workers, per workload
- ``startup``      pool start-up time by executor and start method
- ``timeline``     Gantt of chosen cells: a row per worker, a bar per task
- ``latency``      task latency distribution per cell

``common`` holds what they share (colours, markers, facets, saving as PNG and SVG, importing
matplotlib only where a figure is drawn), ``figure`` what a figure's entry is, ``kept`` which
figures a report need not draw again, ``fitting`` the process that fits the speedup figure's
laws. Adding a figure: a module here that ends with
``FIGURE = ReportFigure(name, title, caption, cost, paint)``, and its line in ``FIGURES`` below.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from runner import cache
from runner.report.plots import common, efficiency, kept, latency, parallelism, speedup, startup, timeline
from runner.report.plots.figure import Canvas, Painted, ReportFigure
from runner.report.plots.fitting import Fitting
from runner.results.load import Sweep

# The report's figures, in the report's order: one line per figure, each a module beside this one
# that says its title, caption and how to paint it (its FIGURE).
FIGURES: list[ReportFigure] = [
    speedup.FIGURE,
    parallelism.FIGURE,
    efficiency.FIGURE,
    startup.FIGURE,
    timeline.FIGURE,
    latency.FIGURE,
]
BY_NAME = {f.name: f for f in FIGURES}
# Slowest first, so that the processes finish together.
ORDER = [f.name for f in sorted(FIGURES, key=lambda f: -f.cost)]

# What the figures are drawn from, set before the worker processes fork so that they
# inherit it instead of unpickling a copy of every table.
_JOB: dict[str, Canvas] = {}


def _paint(name: str) -> tuple[Painted, dict[str, list[int | str]]]:
    """One figure's files (the speedup figure's with the fits it draws), and what they are as
    written (``kept.take``)."""
    painted = BY_NAME[name].paint(_JOB["current"])
    return painted, kept.take(painted[0])


class Painter:
    """Draws the figures into ``out``, in worker processes where the platform can fork,
    while the caller goes on (judging verdicts, writing tables); the scaling fits are
    computed with the speedup figure, which draws them. A figure drawn before from the
    same tables by the same code is kept instead (``kept``).

        with Painter(sweep, None, out) as painter:
            ...
            fitted = painter.fits()
            figures = painter.results()
    """

    def __init__(self, sweep: Sweep, timeline_cells: list[str] | None, out: Path, processes: int | None = None) -> None:
        out.mkdir(parents=True, exist_ok=True)
        cells = timeline.default_cells(sweep.summary) if timeline_cells is None else timeline_cells
        drawn_from = kept.tables(sweep)
        self._keys = {
            name: cache.key(name, drawn_from, json.dumps(cells if name == timeline.FIGURE.name else None))
            for name in ORDER
        }
        self.failed: dict[str, str] = {}
        self._done: dict[str, tuple[list[Path], pd.DataFrame | None]] = {}
        for name, key in self._keys.items():
            found = kept.find(key, out)
            if found is not None:
                self._done[name] = (found, None)
        to_draw = [name for name in ORDER if name not in self._done]
        processes = min(len(to_draw), os.cpu_count() or 1) if processes is None else processes
        can_fork = "fork" in multiprocessing.get_all_start_methods()
        self._pool: ProcessPoolExecutor | None = None
        # the fits start before this process imports matplotlib (where it has not yet: a
        # sweep's helper has), on the CPU that would idle meanwhile
        self._fitting = Fitting(sweep.summary) if speedup.FIGURE.name in to_draw and can_fork else None
        _JOB["current"] = Canvas(sweep, cells, out, self._fitting.result if self._fitting is not None else None)
        try:
            if to_draw:
                common.matplotlib_ready()  # before the fork: every drawing process inherits it
            if to_draw and processes > 1 and can_fork:
                self._pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"))
                self._futures = {name: self._pool.submit(_paint, name) for name in to_draw}
        except BaseException:  # no __exit__ follows a failed __init__: end what started
            self.__exit__()
            raise

    def _get(self, name: str) -> tuple[list[Path], pd.DataFrame | None]:
        if name not in self._done:
            try:
                painted, written = self._futures[name].result() if self._pool is not None else _paint(name)
            except Exception as exc:  # a figure's bug must not cost the whole report
                self.failed[name] = f"{type(exc).__name__}: {exc}"
                self._done[name] = ([], None)
            else:
                self._done[name] = painted
                kept.record(self._keys[name], written)
        return self._done[name]

    def fits(self) -> pd.DataFrame:
        """The scaling fits (runner/results/fits.py), as drawn on the speedup figure."""
        fitted = self._get("speedup")[1]
        return fitted if fitted is not None else _JOB["current"].fits()

    def results(self) -> dict[str, list[Path]]:
        """Each drawn figure's files, in the report's order; figures without data are left
        out, and so are figures that failed (``failed`` says why: the rest of the report
        is still worth having)."""
        drawn = {name: self._get(name)[0] for name in ORDER}
        return {f.name: drawn[f.name] for f in FIGURES if drawn[f.name]}

    def __enter__(self) -> Painter:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
        finally:
            if self._fitting is not None:
                self._fitting.close()
            _JOB.clear()


def draw(sweep: Sweep, timeline_cells: list[str] | None, out: Path) -> dict[str, list[Path]]:
    """Every figure, drawn into ``out``."""
    with Painter(sweep, timeline_cells, out) as painter:
        return painter.results()
