"""How a cell is named wherever it is shown: the terminal, the warnings, the verdicts, the
report and the figures' panels (compare names a pair of cells by the keys that differ between
two sweeps, runner/compare/output.py).

A cell's *panel* is its workload plus every value that varies within that workload (a
parameter, the task count, the interpreter, the GIL, the native thread setting), so two
cells that differ only in ``workload.kib`` never print as the same row. Its *label* adds the
executor, start method and worker count. ``flags`` reads the summary's boolean marks
(``noisy``, ``impossible``) the same way for every reader.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from runner.core.executors import EXECUTORS


def native_setting(value: Any) -> str:
    """A cell's ``native_threads`` as set ('1', 'auto'; '' where unset), however the CSV read it back."""
    if pd.isna(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def param_columns(frame: pd.DataFrame) -> list[str]:
    """The ``workload.<name>`` columns: one per workload parameter."""
    return [str(c) for c in frame.columns if str(c).startswith("workload.")]


def flags(summary: pd.DataFrame, column: str) -> pd.Series:
    """A boolean column of the summary (``noisy``, ``impossible``), False where a file from
    before it existed lacks it."""
    if column not in summary:
        return pd.Series(False, index=summary.index)
    return summary[column].fillna(False).astype(bool)


def flag(row: pd.Series, column: str) -> bool:
    """A boolean column of a summary row; absent (older files) or empty is False."""
    value = row.get(column)
    return bool(value) if value is not None and pd.notna(value) else False


PANEL = "panel"  # the column naming a row's panel
# Besides the parameters: what may vary within one workload and so must show in its name.
VARYING = ["tasks", "fail_rate", "python", "gil", "switch_interval", "native_threads"]


def value_text(value: Any) -> str:
    """A swept value as labels show it: 0.5, not 0.500000; an unset one is the default."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "default"
    return f"{value:g}" if isinstance(value, float) else str(value)


def varies_within(part: pd.DataFrame, keys: list[str]) -> list[str]:
    """The ``keys`` whose value varies within ``part`` (one workload's rows); unset against a
    value varies too (switch_interval=null,0.0001)."""
    return [k for k in keys if k in part and part[k].nunique(dropna=False) > 1]


def with_panels(summary: pd.DataFrame) -> pd.DataFrame:
    """Add PANEL: the workload, plus the parameters, task count or interpreter that vary
    within it, so that two configs of one workload never share a panel."""
    frame = summary.copy()
    if "native_threads" in frame:  # unset is a setting of its own: the libraries' defaults
        frame["native_threads"] = frame["native_threads"].map(lambda v: native_setting(v) or "default")
    varying = [*VARYING, *param_columns(frame)]
    labels = frame["workload"].astype(str)
    for _, part in frame.groupby("workload", sort=False):
        keys = varies_within(part, varying)
        if keys:
            extra = [
                ", ".join(f"{k.removeprefix('workload.')}={value_text(v)}" for k, v in zip(keys, values, strict=True))
                for values in part[keys].itertuples(index=False)
            ]
            labels.loc[part.index] = part["workload"].astype(str) + " (" + pd.Series(extra, index=part.index) + ")"
    frame[PANEL] = labels
    # sorted once here, so that every curve a figure takes from it runs along its workers
    return frame.sort_values("workers", kind="stable")


def label(row: pd.Series) -> str:
    """``panel/executor[/start method]/workers`` of a row of ``with_panels``."""
    method = f"/{row['start_method']}" if isinstance(row["start_method"], str) and row["start_method"] else ""
    return f"{row[PANEL]}/{row['executor']}{method}/{row['workers']}"


def table_order(summary: pd.DataFrame) -> pd.DataFrame:
    """The order tables show cells in: by workload config, then executors in the registry's order
    (the serial baseline first, as in the figures), each by start method and workers."""
    keys = [k for k in ["workload", *param_columns(summary), *VARYING] if k in summary]
    keys += ["executor", "start_method", "workers"]
    rank = {name: i for i, name in enumerate(EXECUTORS)}

    def registry_order(column: pd.Series) -> pd.Series:
        if column.name != "executor":
            return column
        return column.map(lambda e: f"{rank.get(e, len(rank)):03d}{e}")

    return summary.sort_values(keys, key=registry_order, kind="stable", na_position="first")
