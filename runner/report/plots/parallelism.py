"""Concurrency against parallelism: the seed's one coffee machine or two (plots/concurrency_parallelism.png)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from runner.report.plots import common
from runner.report.plots.figure import Canvas, Painted, ReportFigure
from runner.results.labels import with_panels


@common.themed
def draw(summary: pd.DataFrame, cores: int, path: Path) -> list[Path]:
    """Tasks in flight (x) against CPU seconds per wall second (y), per executor and start method.

    Concurrency without parallelism stays on y = 1 (one machine, queues taking turns);
    parallelism climbs the diagonal until it meets the cores.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    data = with_panels(summary[(summary["status"] == "ok") & summary["parallelism_median"].notna()])
    if data.empty:
        return []
    colour = common.colours(common.executors(data))
    fig, panels = common.grid(data, common.choose_split(data), column="in_flight")
    outside = "task_parallelism_median" in data and bool(data["task_parallelism_median"].notna().any())
    for panel in panels:
        ax, layer = panel.ax, common.Layer()
        over_x: list[float] = []
        over_y: list[float] = []
        ax.axhline(cores, color="firebrick", ls="--", lw=0.9, zorder=1)
        ax.axhline(1.0, color="0.4", lw=0.6, ls=":", zorder=1)
        for block in panel.blocks:
            flight, x = block.dense(block.rows["in_flight"].min(), block.rows["in_flight"].max())
            layer.line(x, flight, (0.55, 0.55, 0.55, 0.35), width=3)
            for executor, method, curve in common.curves(block.rows):  # in_flight grows with workers
                c, x = colour[executor], block.x(curve["in_flight"])
                layer.band(x, curve["parallelism_ci_low"], curve["parallelism_ci_high"], c)
                layer.curve(x, curve["parallelism_median"], c, common.marker(method))
                if outside:  # the task threads alone: the gap above is native pools and the pool's machinery
                    layer.line(x, curve["task_parallelism_median"], c, ":", 1.0)
                hit = common.oversubscribed(curve)
                over_x += list(x[hit])
                over_y += list(curve["parallelism_median"].to_numpy()[hit])
        layer.draw(ax)
        common.ring(ax, over_x, over_y)
        panel.finish("in_flight")
        ax.set_ylim(bottom=0, top=max(cores, float(panel.rows["parallelism_ci_high"].max())) * 1.15)
    common.label_axes(fig, panels, "concurrency: tasks in flight (log2 scale)", "parallelism: all CPU s per wall s")
    common.legend(
        fig,
        data,
        [
            (Line2D([], [], color="0.55", lw=3, alpha=0.35), "parallelism = concurrency"),
            (Line2D([], [], color="firebrick", ls="--", lw=0.9), f"{cores} cores: every machine busy"),
            (Line2D([], [], color="0.4", ls=":", lw=0.6), "1: one coffee machine"),
            (Patch(color="0.5", alpha=0.25), "bootstrap 95% CI"),
            *[(Line2D([], [], color="0.3", ls=":", lw=1.0), "task threads only")] * outside,
            *[(common.ring_handle(), "oversubscribed")] * bool(common.oversubscribed(data).any()),
        ],
    )
    return common.save(fig, path, "Concurrency against parallelism")


def paint(canvas: Canvas) -> Painted:
    return draw(canvas.sweep.summary, canvas.sweep.cores, canvas.path("concurrency_parallelism")), None


FIGURE = ReportFigure(
    "concurrency_parallelism",
    "Concurrency against parallelism",
    "The seed's coffee machines. x: tasks in flight (concurrency); y: CPU seconds per wall second "
    "(parallelism). A curve along the grey diagonal runs every task at once on its own core (two machines for "
    "two queues); a curve flat at 1 takes turns on one core (two queues, one machine: threads under the GIL); "
    "a curve near 0 waits rather than computes (sleep, IO). Nothing rises above the red line of the cores. "
    "y counts every thread of the processes that ran tasks; the dotted line is the task threads alone, and the "
    "gap between them is CPU outside the tasks (native BLAS/OpenMP pools, the pool's machinery). A red ring "
    "marks an oversubscribed cell: tasks in flight x native threads above the cores.",
    cost=4,
    paint=paint,
)
