"""Task timelines (Gantt) of chosen cells: a row per worker, a bar per task (plots/timeline.png).

Bars are shaded by the share of their wall time the task spent on a CPU: under the
GIL, pure-Python threads take turns, so each task's bar is long and pale; processes
run their tasks side by side at full shade.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from runner.report.plots import common
from runner.report.plots.figure import Canvas, Painted, ReportFigure
from runner.results.labels import PANEL, with_panels

CMAP = "Blues"
MAX_LANE_LABELS = 8
PANEL_W, PANEL_H = 4.6, 1.9
METHOD_PREFERENCE = {"": 0, "fork": 1, "forkserver": 2, "spawn": 3}


def default_cells(summary: pd.DataFrame) -> list[str]:
    """The widest cell of each executor (fork preferred among start methods), in the
    first workload config that has the executor: a handful of panels however large the
    sweep; ``--timeline`` chooses others."""
    ok = with_panels(summary[(summary["status"] == "ok") & (summary["n"] > 0)])
    if ok.empty:
        return []
    ok = ok.assign(method_rank=ok["start_method"].map(METHOD_PREFERENCE).fillna(len(METHOD_PREFERENCE)))
    ranked = ok.sort_values(["workload", PANEL, "workers", "method_rank"], ascending=[True, True, False, True])
    return list(ranked.groupby("executor", sort=False).head(1)["cell"])


def _typical_rep(tasks: pd.DataFrame) -> pd.DataFrame:
    """The repetition of the first round whose task phase lasted the median time."""
    if "round" in tasks:
        tasks = tasks[tasks["round"] == tasks["round"].min()]
    spans = tasks.groupby("rep")["end_s"].max().sort_values()
    typical: pd.DataFrame = tasks[tasks["rep"] == spans.index[len(spans) // 2]]
    return typical


@common.themed
def draw(summary: pd.DataFrame, tasks: pd.DataFrame, cells: list[str], path: Path) -> list[Path]:
    chosen = with_panels(summary[summary["cell"].isin(cells)])
    tasks = tasks[tasks["cell"].isin(cells)]
    chosen = chosen[chosen["cell"].isin(set(tasks["cell"]))]
    if chosen.empty:
        return []
    order = {e: i for i, e in enumerate(common.executors(chosen))}
    chosen = chosen.assign(order=chosen["executor"].map(order)).sort_values(["order", "start_method", "workers"])
    labels = list(dict.fromkeys(chosen.sort_values(["workload", PANEL])[PANEL]))
    columns = [chosen[chosen[PANEL] == p] for p in labels]
    nrows = max(len(c) for c in columns)
    width = common.LEFT_IN + len(labels) * PANEL_W + (len(labels) - 1) * common.WSPACE_IN + 1.2
    height = common.TOP_IN + nrows * PANEL_H + (nrows - 1) * common.HSPACE_IN + common.BOTTOM_IN
    fig = common.new_figure(width, height)
    import matplotlib
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import Normalize

    axes = fig.subplots(nrows, len(labels), sharex="col", squeeze=False)
    fig.subplots_adjust(
        left=common.LEFT_IN / width,
        right=1 - 1.2 / width,
        bottom=common.BOTTOM_IN / height,
        top=1 - common.TOP_IN / height,
        wspace=common.WSPACE_IN / PANEL_W,
        hspace=common.HSPACE_IN / PANEL_H,
    )
    by_cell = dict(tuple(tasks.groupby("cell")))
    for col, rows in enumerate(columns):
        for ax in axes[len(rows) :, col]:
            ax.set_visible(False)
        for ax, (_, cell) in zip(axes[:, col], rows.iterrows(), strict=False):
            rep = _typical_rep(by_cell[cell["cell"]])
            first = rep.groupby("worker")["start_s"].min().sort_values()
            lane = rep["worker"].map({w: i for i, w in enumerate(first.index)}).to_numpy()
            span = (rep["end_s"] - rep["start_s"]).to_numpy()
            share = np.clip(rep["cpu_s"].to_numpy() / np.maximum(span, 1e-9), 0, 1) if "cpu_s" in rep else span * 0
            left = rep["start_s"].to_numpy()
            # one collection of rectangles: a bar per task as its own patch costs more than the figure
            boxes = np.stack(
                [
                    np.column_stack([left, lane - 0.4]),
                    np.column_stack([left + span, lane - 0.4]),
                    np.column_stack([left + span, lane + 0.4]),
                    np.column_stack([left, lane + 0.4]),
                ],
                axis=1,
            )
            colours = matplotlib.colormaps[CMAP](0.25 + 0.75 * share)
            ax.add_collection(PolyCollection(list(boxes), facecolors=colours, edgecolors="white", linewidths=0.3))
            ax.set_xlim(0, max(ax.get_xlim()[1], float((left + span).max()) * 1.02))
            method = f" · {cell['start_method']}" if cell["start_method"] else ""
            workers = int(cell["workers"])
            ax.set_title(
                f"{cell[PANEL]} · {cell['executor']}{method} · {workers} worker{'s' * (workers != 1)}"
                f" (rep {int(rep['rep'].iloc[0])})",
                fontsize="small",
            )
            ax.set_ylim(-0.6, len(first) - 0.4)
            ax.invert_yaxis()
            lanes = range(0, len(first), math.ceil(len(first) / MAX_LANE_LABELS))
            ax.set_yticks(list(lanes), [str(i) for i in lanes])
            ax.set_ylabel("worker")
            ax.grid(axis="y", visible=False)
        axes[len(rows) - 1, col].set_xlabel("seconds since the task phase began")
    bar = fig.add_axes((1 - 0.95 / width, 0.3, 0.12 / width, 0.4))
    fig.colorbar(
        ScalarMappable(norm=Normalize(0, 1), cmap=matplotlib.colormaps[CMAP]),
        cax=bar,
        label="CPU time / wall time of the task",
    )
    return common.save(fig, path, "Task timelines: one row per worker, one bar per task")


def paint(canvas: Canvas) -> Painted:
    return draw(canvas.sweep.summary, canvas.sweep.tasks, canvas.timeline_cells, canvas.path("timeline")), None


FIGURE = ReportFigure(
    "timeline",
    "Task timelines",
    "One repetition (the one of median length) of chosen cells: one row per worker, one bar per task, "
    "shaded by the share of its wall time the task spent on a CPU. Pale, long, overlapping bars are threads "
    "taking turns on the GIL.",
    cost=2,
    paint=paint,
)
