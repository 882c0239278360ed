"""What the terminal shows at the end of a run or sweep."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

from runner.data import native_setting

REASONS = {"cv": "spread over 10%", "load": "machine load above its cores", "first": "a slow first repetition"}

if TYPE_CHECKING:
    from runner.verdicts import Verdict

VERDICT_STYLES = {"holds": "green", "fails": "bold red", "not measured": "yellow", "refused": "bold yellow"}


def _value(row: pd.Series, measure: str, fmt: str, ci: bool = False) -> str:
    median = row[f"{measure}_median"]
    if pd.isna(median):
        return "-"
    if not ci:
        return f"{median:{fmt}}"
    return f"{median:{fmt}} [{row[f'{measure}_ci_low']:{fmt}}-{row[f'{measure}_ci_high']:{fmt}}]"


def print_summary(table: pd.DataFrame, root: Path) -> None:
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, 110)  # logs and CI: do not fold the table
    grid = Table(title="summary: medians over repetitions", title_justify="left", box=box.SIMPLE_HEAD)
    pythons = table["python"].nunique() > 1
    native = "native_threads" in table and bool(table["native_threads"].notna().any())
    columns = ["python"] * pythons + ["workload", "executor", "start", "workers"] + ["native"] * native
    for column in (*columns, "wall s", "speedup [95% CI]", "parallelism", "cv"):
        grid.add_column(column, justify="left" if column in ("python", "workload", "executor", "start") else "right")
    grid.add_column("status")
    for _, row in table.iterrows():
        status = str(row["status"]) + (" noisy" if row["noisy"] else "")
        if row.get("oversubscribed") is True:
            status += ", oversubscribed"
        if row["errors"]:
            status += f", {row['errors']} task errors"
        grid.add_row(
            *[str(row["python"])] * pythons,
            str(row["workload"]),
            str(row["executor"]),
            "" if pd.isna(row["start_method"]) else str(row["start_method"]),
            str(row["workers"]),
            *([native_setting(row["native_threads"]) or "default"] if native else []),
            _value(row, "wall_s", ".4f"),
            _value(row, "speedup", ".2f", ci=True),
            _value(row, "parallelism", ".2f"),
            "-" if pd.isna(row["cv"]) else f"{row['cv']:.1%}",
            status,
        )
    console.print(grid)
    noisy = int(table["noisy"].sum()) if "noisy" in table else 0
    if noisy:
        reasons = Counter(r.split(" ")[0] for text in table["noise"].dropna() for r in str(text).split("; ") if r)
        why = ", ".join(f"{REASONS.get(k, k)} in {n}" for k, n in reasons.items())
        console.print(
            f"[yellow]{noisy} of {len(table)} cells are noisy[/] ({why}; summary.csv column noise). To trust them: "
            "close other programs (load), raise repeats=, interleave passes with rounds=3, or lengthen "
            "repetitions with calibrate=true."
        )
    over = table[table["oversubscribed"].fillna(False).astype(bool)] if "oversubscribed" in table else table[:0]
    if len(over):
        console.print(
            f"[yellow]{len(over)} of {len(table)} cells are oversubscribed[/]: their tasks in flight x native threads "
            "(BLAS, OpenMP) exceed the CPUs, and the threads take turns; try native_threads=1 or auto."
        )
        for _, row in over.iterrows():
            setting = native_setting(row["native_threads"]) or "default"
            console.print(
                f"  {row['workload']} {row['executor']} {row['workers']} workers, native_threads {setting}: "
                f"{row['oversubscription']}"
            )
    console.print(f"results: {root}")


def print_verdicts(verdicts: list[Verdict]) -> None:
    """The claims the sweep declared (``expect:``) and what the measurements say of them."""
    if not verdicts:
        return
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, 110)
    grid = Table(title="verdicts", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("claim", "verdict", "numbers behind it"):
        grid.add_column(column)
    for verdict in verdicts:
        style = VERDICT_STYLES.get(verdict.verdict, "")
        grid.add_row(verdict.claim, f"[{style}]{verdict.verdict}[/]", verdict.numbers)
    console.print(grid)
