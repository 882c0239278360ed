"""Pool start-up cost by executor and start method (plots/startup.png)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from runner.report.plots import common
from runner.report.plots.figure import Canvas, Painted, ReportFigure
from runner.results.labels import PANEL
from runner.results.load import Sweep

MS = 1000.0


@common.themed
def draw(summary: pd.DataFrame, path: Path) -> list[Path]:
    """Median time to start a ready pool, in ms (a log scale where wide), pooled over workloads;
    the band is the fastest to the slowest repetition."""
    from matplotlib.patches import Patch

    if "startup_s_median" not in summary:
        return []
    ok = summary[(summary["status"] == "ok") & summary["startup_s_median"].notna()]
    if ok.empty:
        return []
    data = ok.groupby(["executor", "start_method", "workers"], as_index=False).agg(
        median=("startup_s_median", "median"), low=("startup_s_min", "min"), high=("startup_s_max", "max")
    )
    data["workload"] = data[PANEL] = "all workloads"
    colour = common.colours(common.executors(data))
    fig, panels = common.grid(data, common.choose_split(data))
    logs = []
    for panel in panels:
        layer = common.Layer()
        for block in panel.blocks:
            for executor, method, curve in common.curves(block.rows):
                c, x = colour[executor], block.x(curve["workers"])
                layer.band(x, curve["low"] * MS, curve["high"] * MS, c)
                layer.curve(x, curve["median"] * MS, c, common.marker(method))
        logs.append(common.log10_axis(panel.ax, panel.rows[["low", "high"]].to_numpy() * MS))
        layer.draw(panel.ax)
        panel.finish()
    common.label_axes(fig, panels, "workers (log2 scale)", f"pool ready (ms, {common.scale_words(logs)} scale)")
    common.legend(fig, data, [(Patch(color="0.5", alpha=0.25), "fastest to slowest repetition")])
    return common.save(fig, path, "Start-up cost: creating the pool until every worker is ready")


def paint(canvas: Canvas) -> Painted:
    return draw(canvas.sweep.summary, canvas.path("startup")), None


def facts(sweep: Sweep) -> str:
    """Each executor's range of median start-up times, as the figure plots them."""
    summary = sweep.summary
    if "startup_s_median" not in summary:
        return ""
    ok = summary[(summary["status"] == "ok") & summary["startup_s_median"].notna()]
    who = ok["executor"] + ok["start_method"].fillna("").map(lambda m: f" ({m})" if m else "")
    ranges = ok.groupby(who, sort=True)["startup_s_median"].agg(["min", "max"])
    said = [f"{name} {_ms(row['min'])} to {_ms(row['max'])}" for name, row in ranges.iterrows()]
    return f"Here, medians per cell: {'; '.join(said)}." if said else ""


def _ms(seconds: float) -> str:
    return f"{seconds * MS:.2g} ms" if seconds * MS < 10 else f"{seconds * MS:.0f} ms"


FIGURE = ReportFigure(
    "startup",
    "Start-up cost",
    "Time from creating the pool until every worker is ready, median over repetitions pooled over workloads "
    "(band: fastest to slowest repetition); a log scale where the times span a factor of 4 or more.",
    cost=1,
    paint=paint,
    facts=facts,
)
