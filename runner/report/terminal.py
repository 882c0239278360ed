"""What the terminal shows at the end of a run or sweep."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from runner.exiting import printable
from runner.results import aggregate, noise
from runner.results.labels import PANEL, flag, flags, label, native_setting, table_order, with_panels

if TYPE_CHECKING:
    from runner.claims.verdicts import Verdict

VERDICT_STYLES = {"holds": "green", "fails": "bold red", "not measured": "yellow", "refused": "bold yellow"}


def _value(row: pd.Series, measure: str, fmt: str, ci: bool = False) -> str:
    median = row[f"{measure}_median"]
    if pd.isna(median):
        return "-"
    if not ci:
        return f"{median:{fmt}}"
    return f"{median:{fmt}} [{row[f'{measure}_ci_low']:{fmt}}-{row[f'{measure}_ci_high']:{fmt}}]"


def wide_console() -> Console:
    """The terminal; written to a file or a pipe (logs, CI) it is wide enough that a table's
    rows do not fold, which would split a cell's words over lines."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, 200)
    return console


def print_answer(console: Console, answer: list[str]) -> None:
    """The report's headline (runner/report/headline.py), its **bold** in bold."""
    if not answer:
        return
    console.print("[bold]the answer[/]")
    for line in answer:
        parts = escape(line).split("**")
        console.print("  " + "".join(f"[bold]{p}[/]" if i % 2 else p for i, p in enumerate(parts)))
    console.print()


def print_summary(summary: pd.DataFrame, root: Path, answer: list[str]) -> None:
    """The answer, then a row per cell, then what to doubt."""
    console = wide_console()
    print_answer(console, answer)
    table = table_order(with_panels(summary))
    grid = Table(title="summary: medians over repetitions", title_justify="left", box=box.SIMPLE_HEAD)
    pythons = table["python"].nunique() > 1
    native = "native_threads" in summary and bool(summary["native_threads"].notna().any())  # set somewhere
    columns = ["python"] * pythons + ["workload", "executor", "start", "workers"] + ["native"] * native
    for column in (*columns, "wall s", "speedup [95% CI]", "parallelism", "cv"):
        grid.add_column(column, justify="left" if column in ("python", "workload", "executor", "start") else "right")
    grid.add_column("status")
    for _, row in table.iterrows():
        grid.add_row(
            *[str(row["python"])] * pythons,
            str(row[PANEL]),
            str(row["executor"]),
            "" if pd.isna(row["start_method"]) else str(row["start_method"]),
            str(row["workers"]),
            *([native_setting(row["native_threads"]) or "default"] if native else []),
            _value(row, "wall_s", ".4f"),
            "[red]impossible[/]" if flag(row, "impossible") else _value(row, "speedup", ".2f", ci=True),
            _value(row, "parallelism", ".2f"),
            "-" if pd.isna(row["cv"]) else f"{row['cv']:.1%}",
            status(row),
        )
    console.print(grid)
    notes(console, table)
    console.print(f"results: {root}")


def status(row: pd.Series) -> str:
    """A cell's status and every flag that tells the reader to doubt its numbers."""
    text = str(row["status"]) + (" noisy" if row["noisy"] else "")
    if flag(row, "impossible"):
        text += " IMPOSSIBLE"
    if flag(row, "above_limit"):
        text += " at limit"
    if pd.notna(row.get("precision_met")) and not row["precision_met"]:
        text += f" imprecise ({row['precision_stop']})"
    if flag(row, "oversubscribed"):
        text += ", oversubscribed"
    if row["errors"]:
        text += f", {row['errors']} task errors"
    return text


def notes(console: Console, table: pd.DataFrame) -> None:
    """Below the table: what is noisy and why, what is impossible, imprecise or oversubscribed."""
    noisy = int(table["noisy"].sum()) if "noisy" in table else 0
    if noisy:
        reasons = Counter(code for value in table["noise"] for code in noise.codes(value))
        why = ", ".join(f"{noise.REASONS[k].meaning if k in noise.REASONS else k} in {n}" for k, n in reasons.items())
        console.print(
            f"[yellow]{noisy} of {len(table)} cells are noisy[/] ({why}; summary.csv column noise). To trust them: "
            "close other programs (load), raise repeats=, interleave passes with rounds=3, or lengthen "
            "repetitions with calibrate=true."
        )
    impossible = table[table["impossible"].astype(bool)] if "impossible" in table else table.iloc[0:0]
    for _, row in impossible.iterrows():
        console.print(f"[red]impossible[/] {label(row)}: {row['impossible_why']}; not a measurement (summary.csv)")
    at_limit = table[flags(table, "above_limit")]
    for _, row in at_limit.head(3).iterrows():
        console.print(f"[yellow]at limit[/] {label(row)}: {aggregate.at_limit(row)} (summary.csv above_limit)")
    if len(at_limit) > 3:
        console.print(f"[yellow]at limit[/] {len(at_limit) - 3} more cell(s) likewise (summary.csv above_limit)")
    causes = table[table["noisy"].astype(bool) & table["noise_cause"].fillna("").astype(bool)] if noisy else table[0:0]
    for _, row in causes.head(5).iterrows():
        console.print(f"[yellow]noisy[/] {label(row)}: {row['noise_cause']}")
    if "precision_met" in table and table["precision_met"].notna().any():
        met = table["precision_met"].dropna().astype(bool)
        console.print(
            f"precision: {int(met.sum())} of {len(met)} cells reached +-{table['precision'].max():.0%} on speedup; "
            "the others ran out of budget_s or max_repeats (summary.csv precision_stop)"
        )
    over = table[table["oversubscribed"].fillna(False).astype(bool)] if "oversubscribed" in table else table[:0]
    if len(over):
        console.print(
            f"[yellow]{len(over)} of {len(table)} cells are oversubscribed[/]: their tasks in flight x native threads "
            "(BLAS, OpenMP) exceed the CPUs, and the threads take turns; try native_threads=1 or auto."
        )
        for _, row in over.iterrows():
            setting = native_setting(row["native_threads"]) or "default"
            console.print(f"  {label(row)}, native_threads {setting}: {row['oversubscription']}")


def print_verdicts(verdicts: list[Verdict]) -> None:
    """The claims the sweep declared (``expect:``) and what the measurements say of them."""
    if not verdicts:
        return
    console = wide_console()
    grid = Table(title="verdicts", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("claim", "verdict", "numbers behind it"):
        grid.add_column(column)
    for verdict in verdicts:
        style = VERDICT_STYLES.get(verdict.verdict, "")
        # a claim's words come from a file that may have been received: shown, never acted on
        grid.add_row(
            escape(printable(verdict.claim)), f"[{style}]{verdict.verdict}[/]", escape(printable(verdict.numbers))
        )
    console.print(grid)
