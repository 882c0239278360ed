"""The figures, each drawn from the tidy CSVs alone."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed, none used

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns


def _log2_workers(grid: sns.FacetGrid, workers: pd.Series) -> None:
    ticks = sorted(int(w) for w in workers.dropna().unique())
    for ax in grid.axes.flat:
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()


def _save(grid: sns.FacetGrid, path: Path) -> Path:
    grid.figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(grid.figure)
    return path


def speedup(results: pd.DataFrame, cores: int, path: Path) -> Path:
    """Speedup against workers: one panel per workload, hue executor, ideal capped at the cores."""
    data = results[results["status"] == "ok"]
    grid = sns.relplot(
        data=data,
        x="workers",
        y="speedup",
        hue="executor",
        col="workload",
        kind="line",
        marker="o",
        errorbar=("ci", 95),
        col_wrap=min(3, data["workload"].nunique()),
        height=3.4,
        facet_kws={"sharey": False},
    )
    workers = np.array(sorted(data["workers"].unique()), dtype=float)
    for ax in grid.axes.flat:
        ax.plot(workers, np.minimum(workers, cores), color="grey", linestyle=":", label=f"ideal (≤ {cores} cores)")
        ax.axhline(1.0, color="grey", linewidth=0.6)
    _log2_workers(grid, data["workers"])
    grid.set_axis_labels("workers (log2)", "speedup vs serial (x)")
    grid.figure.suptitle("Speedup against workers", y=1.03)
    return _save(grid, path)


def concurrency_parallelism(results: pd.DataFrame, cores: int, path: Path) -> Path:
    """Workers in flight against CPU seconds per wall second: one coffee machine or many."""
    data = results[results["status"] == "ok"].copy()
    data["in_flight"] = np.minimum(data["workers"], data["tasks"])
    grid = sns.relplot(
        data=data,
        x="in_flight",
        y="parallelism",
        hue="executor",
        col="workload",
        kind="line",
        marker="o",
        errorbar=("ci", 95),
        col_wrap=min(3, data["workload"].nunique()),
        height=3.4,
    )
    flight = np.array(sorted(data["in_flight"].unique()), dtype=float)
    for ax in grid.axes.flat:
        ax.plot(flight, flight, color="grey", linestyle=":", label="parallelism = concurrency")
        ax.axhline(cores, color="firebrick", linestyle="--", linewidth=0.8, label=f"{cores} cores")
    _log2_workers(grid, data["in_flight"])
    grid.set_axis_labels("concurrency: tasks in flight (log2)", "parallelism: CPU s per wall s")
    grid.figure.suptitle("Concurrency against parallelism", y=1.03)
    return _save(grid, path)
