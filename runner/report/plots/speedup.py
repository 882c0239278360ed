"""Speedup against workers, with the fitted scaling laws (plots/speedup.png)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from runner.report.plots import common
from runner.report.plots.figure import Canvas, Painted, ReportFigure
from runner.results import fits
from runner.results.environment import smt_note
from runner.results.labels import PANEL, flags, with_panels
from runner.results.load import Sweep

USL_DOTS = (0, (1, 1.5))
PASSES = 1.1  # a curve "passes the ideal line" where its interval lies 10% above it


@common.themed
def draw(summary: pd.DataFrame, fitted: pd.DataFrame, cores: int, path: Path, cpus: str = "CPUs") -> list[Path]:
    """Median speedup and its bootstrap 95% CI per curve; ideal min(N, cores); Amdahl and USL dashed."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    data = with_panels(summary[(summary["status"] == "ok") & (summary["executor"] != "serial")])
    data = data[data["speedup_median"].notna()]
    if data.empty:
        return []
    colour = common.colours(common.executors(data))
    keys = fits.curve_keys(summary)
    by_curve = {fits.curve_id(row, keys): row for _, row in fitted.iterrows()}
    fig, panels = common.grid(data, common.choose_split(data))
    laws: set[str] = set()  # the laws drawn somewhere: only those get a legend entry
    for panel in panels:
        layer = common.Layer()
        over_x: list[float] = []
        over_y: list[float] = []
        for block in panel.blocks:
            workers, ideal_x = block.dense(block.rows["workers"].min(), block.rows["workers"].max())
            if len(ideal_x) == 1:  # one worker count: a short level mark, as a line of one point would not show
                workers, ideal_x = np.repeat(workers, 2), ideal_x + np.array([-0.12, 0.12])
            layer.line(ideal_x, np.minimum(workers, cores), (0.55, 0.55, 0.55, 0.35), width=3)
            for executor, method, curve in common.curves(block.rows):
                c, x = colour[executor], block.x(curve["workers"])
                layer.band(x, curve["speedup_ci_low"], curve["speedup_ci_high"], c)
                layer.curve(x, curve["speedup_median"], c, common.marker(method))
                hit = common.oversubscribed(curve)
                over_x += list(x[hit])
                over_y += list(curve["speedup_median"].to_numpy()[hit])
                row = by_curve.get(fits.curve_id(curve.iloc[0], keys))
                if row is not None:  # a law is drawn where it fits a curve that scales (fits.py)
                    n, fx = block.dense(curve["workers"].min(), curve["workers"].max())
                    if fits.amdahl_fits(row):
                        laws.add("Amdahl")
                        layer.line(fx, fits.amdahl(n, row["amdahl_serial_fraction"]), c, "--", 0.9)
                    if fits.usl_fits(row):
                        laws.add("USL")
                        layer.line(fx, fits.usl(n, row["usl_a"], row["usl_b"]), c, USL_DOTS, 0.9)
            # a value the cell's own accounting rules out: marked, so no one reads it as a result
            flagged = block.rows[flags(block.rows, "impossible")]
            if len(flagged):
                x = block.x(flagged["workers"])
                panel.ax.scatter(x, flagged["speedup_median"], s=90, marker="x", color="firebrick", lw=2, zorder=6)
        panel.ax.axhline(1.0, color="0.4", lw=0.6, zorder=1)
        layer.draw(panel.ax)
        common.ring(panel.ax, over_x, over_y)
        panel.finish()
        panel.ax.set_ylim(bottom=0, top=max(panel.ax.get_ylim()[1], 1.5) * 1.08)
    common.label_axes(fig, panels, "workers (log2 scale)", "speedup vs serial (x)")
    common.legend(
        fig,
        data,
        [
            (Line2D([], [], color="0.55", lw=3, alpha=0.35), f"ideal for CPU work:\nmin(workers, {cores} {cpus})"),
            (Patch(color="0.5", alpha=0.25), "bootstrap 95% CI"),
            *[(Line2D([], [], color="0.3", lw=0.9, ls="--"), "Amdahl fit")] * ("Amdahl" in laws),
            *[(Line2D([], [], color="0.3", lw=0.9, ls=USL_DOTS), "USL fit")] * ("USL" in laws),
            *[(Line2D([], [], color="firebrick", marker="x", lw=0, ms=8, mew=2), "impossible: not a measurement")]
            * bool(flags(data, "impossible").any()),
            *[(common.ring_handle(), "oversubscribed")] * bool(common.oversubscribed(data).any()),
        ],
    )
    return common.save(fig, path, "Speedup against workers (median of repetitions)")


def paint(canvas: Canvas) -> Painted:
    summary, environment = canvas.sweep.summary, canvas.sweep.environment
    fitted = canvas.fits()
    cpus = f"CPUs ({smt_note(environment)})" if smt_note(environment) else "CPUs"
    return draw(summary, fitted, canvas.sweep.cores, canvas.path("speedup"), cpus), fitted


def facts(sweep: Sweep) -> str:
    """The curves that pass the ideal line, which only work that waits can do."""
    summary = with_panels(sweep.summary[(sweep.summary["status"] == "ok") & ~flags(sweep.summary, "impossible")])
    ideal = np.minimum(summary["workers"], sweep.cores)
    # clearly above: by more than the noise of a shared machine, over the whole interval
    above = summary[(summary["executor"] != "serial") & (summary["speedup_ci_low"] > ideal * PASSES)]
    if above.empty:
        return "Here no curve passes the ideal line."
    best = above.sort_values("speedup_median").groupby([PANEL, "executor"], sort=True).tail(1)
    named = "; ".join(
        f"{r[PANEL]} · {r['executor']}, {r['speedup_median']:.2f}x at {r['workers']} workers"
        for _, r in best.sort_values([PANEL, "executor"]).iterrows()
    )
    return f"Here these pass it on {sweep.cores} CPUs, so their tasks spent their time waiting: {named}."


FIGURE = ReportFigure(
    "speedup",
    "Speedup against workers",
    "Median speedup over the serial baseline (band: bootstrap 95% CI over the repetitions), one panel per "
    "workload. The thick grey line is the ideal for work that computes, min(workers, usable CPUs); work that "
    "waits (sleep, IO) needs no CPU to wait and can pass it. Dashed lines are the Amdahl fit, dotted the USL "
    "fit, each drawn where it fits a curve that scales (table below). A red cross marks a speedup the cell's own "
    "accounting rules out (more than its tasks "
    "in flight or its CPUs permit): a measurement error, flagged and not judged. Workers on a log2 axis.",
    cost=5,
    paint=paint,
    facts=facts,
)
