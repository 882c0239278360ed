"""Task latency distributions per cell (plots/latency.png).

A task's latency is its time from start to end in the worker (``end_s - start_s`` in
tasks.csv): queueing before it starts is not in it. Each cell is a compact box: the
thick bar spans the quartiles, the thin line the 5th to 95th percentile, the dot is
the median. Boxes of one worker count stand side by side, one per executor and start
method.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from runner.report.plots import common
from runner.report.plots.figure import Canvas, Painted, ReportFigure
from runner.results.labels import with_panels

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
DODGE = 0.7  # log2 units shared by the boxes of one worker count


@common.themed
def draw(summary: pd.DataFrame, tasks: pd.DataFrame, path: Path) -> list[Path]:
    if tasks.empty:
        return []
    spans = (tasks["end_s"] - tasks["start_s"]).groupby(tasks["cell"])
    durations = spans.quantile(np.array(QUANTILES)).unstack()
    durations.columns = [f"q{round(q * 100)}" for q in QUANTILES]
    data = with_panels(summary[summary["status"] == "ok"]).join(durations, on="cell", how="inner")
    if data.empty:
        return []
    # microseconds where every task took less than a millisecond: ticks of 0.00315 ms crowd the axis label
    scale, unit = (1e6, "µs") if data["q95"].max() < 1e-3 else (1e3, "ms")
    colour = common.colours(common.executors(data))
    fig, panels = common.grid(data, common.choose_split(data))
    logs = []
    for panel in panels:
        ax, layer = panel.ax, common.Layer()
        for block in panel.blocks:
            series = list(common.curves(block.rows))
            step = DODGE / max(len(series), 1)
            for i, (executor, method, curve) in enumerate(series):
                c = colour[executor]
                for x, q5, q25, q75, q95 in zip(
                    block.x(curve["workers"]) + (i - (len(series) - 1) / 2) * step,
                    *(curve[q] * scale for q in ("q5", "q25", "q75", "q95")),
                    strict=True,
                ):
                    layer.line([x, x], [q5, q95], c, width=1)
                    layer.line([x, x], [q25, q75], c, width=4)
                layer.markers(
                    block.x(curve["workers"]) + (i - (len(series) - 1) / 2) * step,
                    curve["q50"] * scale,
                    c,
                    common.marker(method),
                    hollow=True,
                )
        logs.append(common.log10_axis(ax, panel.rows[["q5", "q95"]].to_numpy() * scale))
        layer.draw(ax)
        panel.finish()
    ylabel = f"task latency: start to end ({unit}, {common.scale_words(logs)})"
    common.label_axes(fig, panels, "workers (log2 scale)", ylabel)
    common.legend(fig, data)
    return common.save(fig, path, "Task latency per cell: quartiles (bar), 5th-95th percentile (line), median (dot)")


def paint(canvas: Canvas) -> Painted:
    return draw(canvas.sweep.summary, canvas.sweep.tasks, canvas.path("latency")), None


FIGURE = ReportFigure(
    "latency",
    "Task latency",
    "Per cell, the time each task took from start to end in its worker, over all repetitions: quartiles "
    "(thick bar), 5th to 95th percentile (line), median (dot); a log scale where they span a factor of 4 or more.",
    cost=6,
    paint=paint,
)
