"""The comparison of two sweeps as a figure (compare.png next to compare.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from runner.report.plots import common
from runner.results.labels import with_panels

SIGNIFICANT = ("faster", "slower")


@common.themed
def draw(table: pd.DataFrame, min_effect: float, path: Path, measure: str) -> list[Path]:
    """Ratio of medians B / A per cell with its 95% CI, on a log scale; filled markers are
    significant changes, hollow ones are not; the grey band is the minimum effect."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if "ratio" not in table:
        return []
    data = table[table["ratio"].notna()].copy()
    if data.empty:
        return []
    for column in ("tasks", "fail_rate", "python"):
        if column not in data:
            data[column] = np.nan
    data["start_method"] = data["start_method"].fillna("")
    data = with_panels(data)
    colour = common.colours(common.executors(data))
    fig, panels = common.grid(data, common.choose_split(data))
    for panel in panels:
        ax, layer = panel.ax, common.Layer()
        ax.axhspan(1 / (1 + min_effect), 1 + min_effect, color="0.85", zorder=0)
        ax.axhline(1.0, color="0.4", lw=0.8, zorder=1)
        for block in panel.blocks:
            series = list(common.curves(block.rows))
            for i, (executor, method, curve) in enumerate(series):
                c = colour[executor]
                x = block.x(curve["workers"]) + (i - (len(series) - 1) / 2) * 0.08
                for xi, low, high in zip(x, curve["ci_low"], curve["ci_high"], strict=True):
                    layer.line([xi, xi], [low, high], c, width=1.2)
                significant = curve["verdict"].isin(SIGNIFICANT).to_numpy()
                layer.markers(x[significant], curve["ratio"][significant], c, common.marker(method))
                layer.markers(x[~significant], curve["ratio"][~significant], c, common.marker(method), hollow=True)
        common.log10_axis(ax, panel.rows[["ci_low", "ci_high"]].to_numpy())
        layer.draw(ax)
        panel.finish()
    common.label_axes(fig, panels, "workers (log2 scale)", f"B / A: ratio of median {measure}")
    common.legend(
        fig,
        data,
        [
            (Patch(color="0.85"), f"within ±{min_effect:.0%}"),
            (Line2D([], [], color="0.3", marker="o", lw=0), "significant change"),
            (Line2D([], [], color="0.3", marker="o", lw=0, markerfacecolor="white"), "no significant change"),
        ],
    )
    return common.save(fig, path, "B against A: below 1 is faster")
