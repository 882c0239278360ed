"""Parallel efficiency as a heatmap: executor x workers, per workload (plots/efficiency.png)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from runner.report.plots import common
from runner.report.plots.figure import Canvas, Painted, ReportFigure
from runner.results.labels import PANEL, flags, with_panels

if TYPE_CHECKING:
    from matplotlib.axes import Axes

COLUMNS = 2
CELL_W, CELL_H = 0.5, 0.24  # inches per heatmap cell
ROW_LABELS_IN = 1.9
# Beyond this many cells a figure shows colour only (and the asterisks): numbers in
# every cell would take longer to lay out than the rest of the report.
ANNOTATE_MAX = 400
CMAP = "RdYlGn"
# what a cell's text says of a speedup that is not a plain measurement
IMPOSSIBLE, AT_LIMIT = "\N{MULTIPLICATION SIGN}", "^"


def _label(row: pd.Series) -> str:
    return f"{row['executor']}/{row['start_method']}" if row["start_method"] else str(row["executor"])


def _heatmap(ax: Axes, values: pd.DataFrame, text: pd.DataFrame) -> None:
    """What seaborn's heatmap draws, without the whole-figure draw it does per call to
    check tick label overlap (a dozen panels would draw the figure a dozen times)."""
    ax.pcolormesh(values.to_numpy(), cmap=CMAP, vmin=0, vmax=1, edgecolors="white", linewidth=0.5)
    ax.set_xlim(0, values.shape[1])
    ax.set_ylim(values.shape[0], 0)
    ax.set_xticks(np.arange(values.shape[1]) + 0.5, [str(int(w)) for w in values.columns])
    ax.set_yticks(np.arange(values.shape[0]) + 0.5, list(values.index), rotation=0)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    numbers = values.to_numpy(dtype=float)
    for (r, c), label in np.ndenumerate(text.to_numpy()):
        if label:
            dark = not 0.25 < numbers[r, c] < 0.8  # the colour map's ends are dark: white text there
            colour = "firebrick" if np.isnan(numbers[r, c]) else "white" if dark else "0.1"  # no colour: no value
            ax.text(c + 0.5, r + 0.5, label, ha="center", va="center", fontsize=7, color=colour)


@common.themed
def draw(summary: pd.DataFrame, path: Path) -> list[Path]:
    """Median speedup / workers; 1 is perfect scaling. An asterisk marks an incomplete cell."""
    data = with_panels(summary[(summary["status"] == "ok") & summary["efficiency_median"].notna()])
    if data.empty:
        return []
    data["row"] = data.apply(_label, axis=1)
    # an impossible speedup is no measurement: no colour, a cross; one past its limit by less than the
    # slack is shown at the limit, marked, never as more (aggregate.py)
    impossible, at_limit = flags(data, "impossible"), flags(data, "above_limit")
    data["shown"] = data["efficiency_median"].where(~impossible)
    if at_limit.any():
        data.loc[at_limit, "shown"] = data.loc[at_limit, "speedup_limit"] / data.loc[at_limit, "workers"]
    data["mark"] = np.where(impossible, IMPOSSIBLE, np.where(at_limit, AT_LIMIT, ""))
    data["order"] = data["executor"].map({e: i for i, e in enumerate(common.executors(data))})
    labels = list(dict.fromkeys(data.sort_values(["workload", PANEL])[PANEL]))
    annotate = len(data) <= ANNOTATE_MAX
    panel_w = data["workers"].nunique() * CELL_W
    panel_h = data["row"].nunique() * CELL_H
    ncols = min(COLUMNS, len(labels))
    nrows = math.ceil(len(labels) / ncols)
    width = ncols * (ROW_LABELS_IN + panel_w) + common.LEGEND_IN / 2
    height = common.TOP_IN + nrows * (panel_h + common.HSPACE_IN + 0.2) + common.BOTTOM_IN
    fig = common.new_figure(width, height)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    fig.subplots_adjust(
        left=ROW_LABELS_IN / width,
        right=1 - common.LEGEND_IN / 2 / width,
        top=1 - common.TOP_IN / height,
        bottom=common.BOTTOM_IN / height,
        wspace=ROW_LABELS_IN / panel_w,
        hspace=(common.HSPACE_IN + 0.2) / panel_h,
    )
    for ax in axes.flat[len(labels) :]:
        ax.set_visible(False)
    rows_of = {p: tuple(data[data[PANEL] == p].sort_values(["order", "start_method"])["row"].unique()) for p in labels}
    same_rows = len(set(rows_of.values())) == 1
    for i, (ax, panel) in enumerate(zip(axes.flat, labels, strict=False)):
        part = data[data[PANEL] == panel].sort_values(["order", "start_method"])
        grid = {"index": "row", "columns": "workers", "sort": False, "dropna": False}
        values = part.pivot_table(values="shown", **grid)
        done = part.pivot_table(values="complete", aggfunc="all", **grid).reindex_like(values).fillna(True)
        mark = part.pivot_table(values="mark", aggfunc="first", **grid).reindex_like(values).fillna("")
        text = values.map(lambda v: "" if np.isnan(v) or not annotate else f"{v:.2f}") + mark  # impossible: NaN
        text = text.where(done.astype(bool), text + "*")
        _heatmap(ax, values, text)
        ax.set_title(panel, fontsize="medium")
        ax.set_xlabel("workers")
        if same_rows and i % ncols:  # the row names are those of the panel to its left
            ax.set_yticks([])
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    right = fig.subplotpars.right
    bar = fig.add_axes((right + 0.25 / width, 0.3, 0.12 / width, 0.4))
    fig.colorbar(ScalarMappable(norm=Normalize(0, 1), cmap=CMAP), cax=bar, label="speedup / workers")
    return common.save(
        fig,
        path,
        f"Efficiency: speedup per worker (1 = perfect scaling; * incomplete; {AT_LIMIT} at the limit; "
        f"{IMPOSSIBLE} impossible)",
    )


def paint(canvas: Canvas) -> Painted:
    return draw(canvas.sweep.summary, canvas.path("efficiency")), None


FIGURE = ReportFigure(
    "efficiency",
    "Efficiency heatmap",
    "Speedup divided by workers: 1 (green) is perfect scaling, 0 (red) is none. An asterisk marks a cell "
    "with repetitions missing from results.csv; a caret, a speedup past what its tasks in flight permit on the "
    "CPUs by less than the timing slack, shown at that limit; a cross without colour, an impossible speedup, "
    "which is not a measurement (the warnings say why).",
    cost=3,
    paint=paint,
)
