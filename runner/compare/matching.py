"""Which cells of two sweeps are the same cell, and what each repetition of a cell contributes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from runner.results import aggregate
from runner.results.aggregate import param_columns
from runner.results.load import Sweep

CANDIDATES = [
    "workload",
    "executor",
    "start_method",
    "workers",
    "native_threads",
    "tasks",
    "fail_rate",
    "python",
    "gil",
]
IDENTITY = ["workload", "executor", "start_method", "workers"]  # always matched on


def _columns(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    params = sorted({*param_columns(a), *param_columns(b)})
    return [c for c in [*CANDIDATES, *params] if c in a or c in b]


def match_keys(a: pd.DataFrame, b: pd.DataFrame) -> tuple[list[str], dict[str, tuple[str, str]]]:
    """The columns cells are matched on, and the constant columns that differ between the sweeps."""
    keys, differs = [], {}
    for column in _columns(a, b):
        values_a = set(a[column].dropna().astype(str)) if column in a else set()
        values_b = set(b[column].dropna().astype(str)) if column in b else set()
        if column in IDENTITY or len(values_a) > 1 or len(values_b) > 1:
            keys.append(column)
        elif values_a != values_b:
            differs[column] = (", ".join(sorted(values_a)) or "-", ", ".join(sorted(values_b)) or "-")
    return keys, differs


def key_frame(summary: pd.DataFrame, keys: list[str]) -> pd.Series:
    # a missing value (native_threads unset) is a value of its own, not a hole in the key
    frame = summary.reindex(columns=keys).map(lambda v: "" if pd.isna(v) else str(v))
    return frame.apply("|".join, axis=1) if len(frame) else pd.Series(dtype=str)


def samples(results: pd.DataFrame, relative: bool) -> dict[str, np.ndarray]:
    """Per cell, the compared value of each counted repetition: 1 / speedup, or the wall time."""
    ok = results[(results["status"] == "ok") & results["rep"].notna()]
    values = 1.0 / ok["speedup"] if relative else ok["wall_s"]
    return {str(cell): group.to_numpy(dtype=float) for cell, group in values.groupby(ok["cell"])}


def busy(sweep: Sweep) -> dict[str, float]:
    """Per cell, the median share of the machine's CPU time that other programs took while it ran."""
    ok = sweep.results[(sweep.results["status"] == "ok") & sweep.results["rep"].notna()]
    share = aggregate.others_share(ok, sweep.cores)
    return (
        {str(cell): float(v) for cell, v in share.groupby(ok["cell"]).median().dropna().items()} if len(share) else {}
    )
