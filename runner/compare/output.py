"""A comparison as people read it: the terminal table, compare.md, compare.csv and its figure."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from runner import files
from runner.compare.comparison import Comparison
from runner.compare.matching import IDENTITY
from runner.compare.significance import FASTER, INCONCLUSIVE, NOISE_FACTOR, RESAMPLES, SAME, SLOWER, TOO_FEW
from runner.results import aggregate
from runner.results.aggregate import write_csv

WHAT = {
    "relative": "relative time: 1 / speedup against the interleaved serial reference; serial rows: wall time",
    "wall_s": "wall time",
}


def _label(row: pd.Series, keys: list[str]) -> str:
    parts = []
    for key in keys:
        value = row.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
            continue
        name = key.removeprefix("workload.")
        parts.append(str(value) if key in IDENTITY else f"{name}={value}")
    return " · ".join(parts)


def _busy_note(row: pd.Series) -> str:
    busy = row.get("busy")
    if busy is None or pd.isna(busy) or busy <= aggregate.OTHERS:
        return ""
    return f" (other programs took {busy:.0%} of the CPUs)"


def _impossible_note(row: pd.Series) -> str:
    sides = row.get("impossible")
    return f" (the speedup is impossible in {sides}: not a measurement)" if isinstance(sides, str) and sides else ""


def display(comparison: Comparison) -> pd.DataFrame:
    """The table as people read it: one line per cell, ratio with its CI, the verdict."""
    rows = []
    for _, r in comparison.table.iterrows():
        measured = "ratio" in r and pd.notna(r.get("ratio"))
        rows.append(
            {
                "cell": _label(r, comparison.shown),
                "A median": f"{r['median_a']:.4g}" if measured else "-",
                "B median": f"{r['median_b']:.4g}" if measured else "-",
                "B / A [95% CI]": f"{r['ratio']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]" if measured else "-",
                "n": f"{r['n_a']}/{r['n_b']}",
                "verdict": r["verdict"] + _busy_note(r) + _impossible_note(r),
            }
        )
    return pd.DataFrame(rows)


def tally(comparison: Comparison) -> str:
    counts = comparison.table["verdict"].value_counts() if not comparison.table.empty else pd.Series(dtype=int)
    text = ", ".join(f"{n} {k}" for k, n in counts.items())
    extra = [f"{n} only in {side}" for n, side in ((comparison.only_a, "A"), (comparison.only_b, "B")) if n]
    return f"{len(comparison.table)} matched cells: {text}" + (f"; {', '.join(extra)}" if extra else "")


def markdown(comparison: Comparison, dir_a: Path, dir_b: Path, figure: Path | None) -> str:
    """compare.md, in the report's blocks (runner/report/blocks.py)."""
    from runner.report import blocks

    found: list[blocks.Block] = [
        blocks.Heading("concurrency-lab comparison", level=1),
        blocks.Bullets(
            [
                f"A: `{dir_a}`",
                f"B: `{dir_b}`",
                f"matched on: {', '.join(comparison.keys)}",
                *(f"differs: {k} {va} (A) vs {vb} (B)" for k, (va, vb) in comparison.differs.items()),
                *(f"note: {note}" for note in comparison.notes),
            ]
        ),
        blocks.Para(f"**{tally(comparison)}.**"),
    ]
    if figure is not None:
        found.append(blocks.Image(Path(figure.name), "ratio of medians"))
    found += [
        blocks.Table(display(comparison)),
        blocks.Heading("How the verdict is reached"),
        blocks.Para(
            f"Compared: {WHAT[comparison.measure]}. "
            "The ratio is the median of B's repetitions over A's; below 1, B is faster. Its 95% "
            f"confidence interval comes from a bootstrap ({RESAMPLES} resamples of each side's repetitions), its "
            "p-value from Welch's t-test on the logarithms, adjusted for the number of cells judged at once "
            "(Benjamini-Hochberg). A cell is **faster** or **slower** only when the adjusted p-value is below the "
            "false discovery rate, the interval excludes 1, *and* the ratio is beyond the minimum effect "
            f"({comparison.min_effect:.0%}) and beyond {NOISE_FACTOR:g}x the noise of the ratio (the coefficients "
            "of variation of both samples, combined in quadrature). It is **no significant change** when the ratio "
            "lies within that threshold and its interval within twice the minimum effect, and **inconclusive** "
            f"when either reaches past that without the evidence for a change: {_deciding(dir_a, dir_b)}. "
            "A change in a cell where other "
            f"programs took more than {aggregate.OTHERS:.0%} of the CPUs during either sweep is inconclusive too: "
            "the machine may explain it, and so is one whose speedup is impossible on either side. Relative times "
            "divide by a serial reference sampled all along each sweep, so a machine that is "
            "slower on the day of one sweep moves no relative time."
        ),
    ]
    return blocks.markdown(found)


# What a comparison writes into its folder
OUTPUTS = ("compare.md", "compare.csv", "compare.png", "compare.svg")


def _deciding(dir_a: Path, dir_b: Path) -> str:
    """What decides an inconclusive cell: for two sweeps, measuring A and B interleaved; for A and B
    already interleaved in one run (``--ab``), more of it."""
    if dir_a == dir_b:
        return (
            "A and B were measured interleaved in one run, so more of it decides those: more passes over the "
            "grid (`rounds=3`) or repetitions (`repeats=`)"
        )
    return (
        "A and B measured interleaved in one run (`compare --ab`, for two configurations of one checkout) "
        "decide those, where more repetitions of sweeps run apart would not see the machine change between them"
    )


def holds_comparison(folder: Path) -> bool:
    return any(os.path.lexists(folder / name) for name in OUTPUTS)


def write(comparison: Comparison, dir_a: Path, dir_b: Path, out: Path) -> list[Path]:
    from runner.report.plots import compare as compare_plot

    out.mkdir(parents=True, exist_ok=True)
    write_csv(comparison.table, out / "compare.csv")
    what = "relative times" if comparison.measure == "relative" else "wall times"
    figures = compare_plot.draw(comparison.table, comparison.min_effect, out / "compare.png", what)
    files.write_text(out / "compare.md", markdown(comparison, dir_a, dir_b, figures[0] if figures else None))
    return [out / "compare.md", out / "compare.csv", *figures]


def print_table(comparison: Comparison) -> None:
    from rich import box
    from rich.table import Table

    from runner.report.terminal import wide_console

    console = wide_console()
    styles = {FASTER: "green", SLOWER: "red", SAME: "", INCONCLUSIVE: "yellow", TOO_FEW: "yellow"}
    grid = Table(
        title=f"B vs A: ratio of medians ({WHAT[comparison.measure]})", title_justify="left", box=box.SIMPLE_HEAD
    )
    frame = display(comparison)
    for column in frame.columns:
        grid.add_column(column, justify="right" if column in ("A median", "B median", "n") else "left")
    for row in frame.itertuples(index=False):
        cells = [str(v) for v in row]
        style = styles.get(cells[-1].split(" (")[0], "yellow")
        grid.add_row(*cells[:-1], f"[{style}]{cells[-1]}[/]" if style else cells[-1])
    console.print(grid)
    for key, (va, vb) in comparison.differs.items():
        console.print(f"differs: {key} {va} (A) vs {vb} (B)")
    for note in comparison.notes:
        console.print(f"note: {note}")
    console.print(tally(comparison))
