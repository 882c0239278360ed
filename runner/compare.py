"""Compare two runs or sweeps cell by cell: ``python -m runner.compare DIR_A DIR_B``.

Cells are matched on their swept values (the columns that vary within either sweep);
columns constant within each but different between them (another interpreter,
another machine) are what the comparison is about and are printed as such.

What is compared (``--measure``). By default each repetition's *relative time*: its
wall time over the median wall time of the serial baseline measured in the same
sweep (1 / speedup). A machine that runs everything 1.5x slower on the day of B (other
tenants, a throttled CPU) then changes no verdict, while a change in how an executor
scales does. The serial baselines themselves are listed with their raw wall-time
ratio: that is where a change of the machine, or of the workload's own code, shows.
``--measure wall_s`` compares raw wall times instead.

For each pair of cells: the ratio of medians B / A (below 1: B is faster), its
bootstrap 95% confidence interval from the repetitions, and a verdict. With the usual
3 repetitions a Mann-Whitney U test cannot reach p < 0.05 (its smallest two-sided p for
3 against 3 is 0.1), and a t-test trusts a normal spread that 3 timings do not show
(pyperf's calls two sweeps of the same code "1.52x faster, significant" on a busy
machine). So a cell is *faster* or *slower* only when both hold:

1. the bootstrap 95% CI of the ratio of medians excludes 1: the repetitions of the
   two cells hardly overlap; and
2. the ratio is beyond the minimum effect (default 5%) *and* beyond twice the noise of
   the ratio (the coefficients of variation of every sample in it, the cells' and,
   for relative times, their baselines', combined in quadrature): a change smaller
   than the repetition-to-repetition noise is not a change.

Otherwise: *no significant change*. Cells with fewer than 2 repetitions on a side
cannot be judged (*too few repetitions*).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from runner.aggregate import write_csv
from runner.data import DataError, Sweep, load, param_columns

FASTER, SLOWER, SAME, TOO_FEW = "faster", "slower", "no significant change", "too few repetitions"
BASELINE = "baseline"  # a serial cell under the relative measure: the reference, not judged
MEASURES = ("relative", "wall_s")
MIN_EFFECT = 0.05
NOISE_FACTOR = 2.0
RESAMPLES = 2000
CONFIDENCE = 0.95
CANDIDATES = ["workload", "executor", "start_method", "workers", "tasks", "fail_rate", "python", "gil"]
IDENTITY = ["workload", "executor", "start_method", "workers"]  # always matched on
WHAT = {
    "relative": "relative time: wall time / the same sweep's serial baseline; serial rows: wall time",
    "wall_s": "wall time",
}


@dataclass
class Comparison:
    table: pd.DataFrame  # one row per matched cell
    keys: list[str]
    shown: list[str]  # the keys a cell's label shows: those not implied by its workload
    differs: dict[str, tuple[str, str]]  # column -> (A's values, B's values)
    only_a: int
    only_b: int
    min_effect: float
    measure: str
    notes: list[str]  # the machines, where they may explain a difference


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


def _key_frame(summary: pd.DataFrame, keys: list[str]) -> pd.Series:
    frame = summary.reindex(columns=keys).astype(str)
    return frame.apply("|".join, axis=1) if len(frame) else pd.Series(dtype=str)


Side = tuple[np.ndarray, ...]  # a cell's repetitions, then (relative measure) its baseline's


def _side(values: np.ndarray | Side) -> Side:
    return (values,) if isinstance(values, np.ndarray) else tuple(values)


def _value(side: Side, axis: int = -1) -> Any:
    """The compared value of one side: the median, over the baseline's median where there is one."""
    median = np.median(side[0], axis=axis)
    return median / np.median(side[1], axis=axis) if len(side) > 1 else median


def ratio_ci(a: np.ndarray | Side, b: np.ndarray | Side, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of value(B) / value(A), resampling the repetitions of every
    sample independently: a baseline's own noise widens the interval of each cell measured
    against it."""
    from scipy import stats

    a, b = _side(a), _side(b)
    samples = (*a, *b)
    if min(len(x) for x in samples) < 2 or all(np.ptp(x) == 0 for x in samples):  # nothing to resample
        ratio = float(_value(b) / _value(a))
        return ratio, ratio
    k = len(a)
    result = stats.bootstrap(
        samples,
        lambda *x, axis: _value(x[k:], axis) / _value(x[:k], axis),
        vectorized=True,
        paired=False,
        confidence_level=CONFIDENCE,
        n_resamples=RESAMPLES,
        method="percentile",
        random_state=seed,
    ).confidence_interval
    return float(result.low), float(result.high)


def verdict(
    a: np.ndarray | Side, b: np.ndarray | Side, low: float, high: float, min_effect: float
) -> tuple[str, float]:
    """The verdict for one pair of cells, and the effect threshold it used."""
    a, b = _side(a), _side(b)
    if min(len(x) for x in (*a, *b)) < 2:
        return TOO_FEW, math.nan
    # the noise of the ratio: each sample's coefficient of variation, combined in quadrature
    noise = math.sqrt(sum((float(np.std(x, ddof=1) / np.mean(x))) ** 2 for x in (*a, *b)))
    threshold = max(min_effect, NOISE_FACTOR * noise)
    ratio = float(_value(b) / _value(a))
    # log-symmetric: 5% slower is x1.05, 5% faster is /1.05
    if high < 1.0 and ratio <= 1.0 / (1.0 + threshold):
        return FASTER, threshold
    if low > 1.0 and ratio >= 1.0 + threshold:
        return SLOWER, threshold
    return SAME, threshold


def walls(results: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per cell, the wall time of each counted repetition."""
    ok = results[(results["status"] == "ok") & results["rep"].notna()]
    return {str(cell): group.to_numpy(dtype=float) for cell, group in ok.groupby("cell")["wall_s"]}


def _sides(sweep: Sweep, cell: str, relative: bool, measured: dict[str, np.ndarray]) -> Side:
    own = measured.get(cell, np.array([]))
    if not relative:
        return (own,)
    baseline = sweep.results.loc[sweep.results["cell"] == cell, "baseline"]
    return (own, measured.get(str(baseline.iloc[0]), np.array([])) if len(baseline) else np.array([]))


def compare(sweep_a: Sweep, sweep_b: Sweep, min_effect: float = MIN_EFFECT, measure: str = "relative") -> Comparison:
    keys, differs = match_keys(sweep_a.summary, sweep_b.summary)
    a = sweep_a.summary.assign(key=_key_frame(sweep_a.summary, keys))
    b = sweep_b.summary.assign(key=_key_frame(sweep_b.summary, keys))
    merged = a.merge(b, on="key", suffixes=("_a", "_b"))
    relative = measure == "relative"
    walls_a, walls_b = walls(sweep_a.results), walls(sweep_b.results)
    rows = []
    for _, row in merged.iterrows():
        # a serial cell is its own baseline (relative time 1): its wall time shows the drift instead
        serial = relative and row["executor_a"] == "serial"
        side_a = _sides(sweep_a, row["cell_a"], relative and not serial, walls_a)
        side_b = _sides(sweep_b, row["cell_b"], relative and not serial, walls_b)
        out: dict[str, Any] = {k: row[f"{k}_a"] if f"{k}_a" in row else row.get(k) for k in keys}
        out.update({"n_a": len(side_a[0]), "n_b": len(side_b[0])})
        empty = [name for name, side in (("A", side_a), ("B", side_b)) if min(len(x) for x in side) == 0]
        if empty:
            out.update(verdict=f"not measured in {' and '.join(empty)}")
            rows.append(out)
            continue
        low, high = ratio_ci(side_a, side_b)
        label, threshold = verdict(side_a, side_b, low, high, min_effect)
        if serial:
            label = f"{BASELINE}: machine or workload {label}" if label in (FASTER, SLOWER) else BASELINE
        out.update(
            {
                "measure": "wall_s" if serial else measure,
                "median_a": float(_value(side_a)),
                "median_b": float(_value(side_b)),
                "ratio": float(_value(side_b) / _value(side_a)),
                "ci_low": low,
                "ci_high": high,
                "threshold": threshold,
                "verdict": label,
            }
        )
        rows.append(out)
    table = pd.DataFrame(rows)
    shown = [
        k
        for k in keys
        if k in IDENTITY
        or any(k in s and s.groupby("workload")[k].nunique().max() > 1 for s in (sweep_a.summary, sweep_b.summary))
    ]
    return Comparison(
        notes=machine_notes(sweep_a, sweep_b),
        table=table,
        keys=keys,
        shown=shown,
        differs=differs,
        only_a=int((~a["key"].isin(b["key"])).sum()),
        only_b=int((~b["key"].isin(a["key"])).sum()),
        min_effect=min_effect,
        measure=measure,
    )


def machine_notes(sweep_a: Sweep, sweep_b: Sweep) -> list[str]:
    """A busy machine slows parallel cells by more than the serial baseline (other work
    takes the cores they would use), which no normalisation undoes: say so."""
    from runner.report import BUSY_LOAD

    notes = []
    for name, sweep in (("A", sweep_a), ("B", sweep_b)):
        load = (sweep.environment.get("load_before") or [None])[0]
        if load is not None and load > BUSY_LOAD * sweep.cores:
            notes.append(
                f"{name} ran on a busy machine (1-minute load {load:.2f} on {sweep.cores} cores): "
                "its parallel cells compete with other work"
            )
    return notes


def _label(row: pd.Series, keys: list[str]) -> str:
    parts = []
    for key in keys:
        value = row.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
            continue
        name = key.removeprefix("workload.")
        parts.append(str(value) if key in IDENTITY else f"{name}={value}")
    return " · ".join(parts)


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
                "verdict": r["verdict"],
            }
        )
    return pd.DataFrame(rows)


def tally(comparison: Comparison) -> str:
    counts = comparison.table["verdict"].value_counts() if not comparison.table.empty else pd.Series(dtype=int)
    text = ", ".join(f"{n} {k}" for k, n in counts.items())
    extra = [f"{n} only in {side}" for n, side in ((comparison.only_a, "A"), (comparison.only_b, "B")) if n]
    return f"{len(comparison.table)} matched cells: {text}" + (f"; {', '.join(extra)}" if extra else "")


def markdown(comparison: Comparison, dir_a: Path, dir_b: Path, figure: Path | None) -> str:
    from runner.document import markdown_table

    lines = [
        "# concurrency-lab comparison",
        "",
        f"- A: `{dir_a}`",
        f"- B: `{dir_b}`",
        f"- matched on: {', '.join(comparison.keys)}",
        *(f"- differs: {k} {va} (A) vs {vb} (B)" for k, (va, vb) in comparison.differs.items()),
        *(f"- note: {note}" for note in comparison.notes),
        "",
        f"**{tally(comparison)}.**",
        "",
    ]
    if figure is not None:
        lines += [f"![ratio of medians]({figure.name})", ""]
    lines += [
        markdown_table(display(comparison)),
        "",
        "## How the verdict is reached",
        "",
        f"Compared: {WHAT[comparison.measure]}. "
        "The ratio is the median of B's repetitions over A's; below 1, B is faster. Its 95% "
        f"confidence interval comes from a bootstrap ({RESAMPLES} resamples of each side's repetitions). A cell "
        "is **faster** or **slower** only when the interval excludes 1 *and* the ratio is beyond the minimum "
        f"effect ({comparison.min_effect:.0%}) and beyond {NOISE_FACTOR:g}x the noise of the ratio (the "
        "coefficients of variation of the two cells and, for relative times, of their serial baselines, "
        "combined in quadrature); otherwise **no significant change**. "
        "A rank test (Mann-Whitney U) is not used: with 3 repetitions per side its smallest possible p-value "
        "is 0.1, so it could never call anything significant; a t-test assumes a normal spread that 3 "
        "timings cannot show, and calls ordinary machine drift a change.",
        "",
    ]
    return "\n".join(lines)


def write(comparison: Comparison, dir_a: Path, dir_b: Path, out: Path) -> list[Path]:
    from runner.plots import compare as compare_plot

    out.mkdir(parents=True, exist_ok=True)
    write_csv(comparison.table, out / "compare.csv")
    what = "relative times" if comparison.measure == "relative" else "wall times"
    figures = compare_plot.draw(comparison.table, comparison.min_effect, out / "compare.png", what)
    (out / "compare.md").write_text(markdown(comparison, dir_a, dir_b, figures[0] if figures else None))
    return [out / "compare.md", out / "compare.csv", *figures]


def print_table(comparison: Comparison) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, 110)
    styles = {FASTER: "green", SLOWER: "red", SAME: "", TOO_FEW: "yellow"}
    grid = Table(
        title=f"B vs A: ratio of medians ({WHAT[comparison.measure]})", title_justify="left", box=box.SIMPLE_HEAD
    )
    frame = display(comparison)
    for column in frame.columns:
        grid.add_column(column, justify="right" if column in ("A median", "B median", "n") else "left")
    for row in frame.itertuples(index=False):
        cells = [str(v) for v in row]
        style = styles.get(cells[-1], "yellow")
        grid.add_row(*cells[:-1], f"[{style}]{cells[-1]}[/]" if style else cells[-1])
    console.print(grid)
    for key, (va, vb) in comparison.differs.items():
        console.print(f"differs: {key} {va} (A) vs {vb} (B)")
    for note in comparison.notes:
        console.print(f"note: {note}")
    console.print(tally(comparison))


def main(argv: list[str]) -> int:
    """``argv`` as in ``sys.argv``: the program's name, then its arguments."""
    parser = argparse.ArgumentParser(prog="python -m runner.compare", description=__doc__.splitlines()[0])
    parser.add_argument("dir_a", type=Path, help="the reference run or sweep")
    parser.add_argument("dir_b", type=Path, help="the run or sweep compared with it")
    parser.add_argument("--min-effect", type=float, default=MIN_EFFECT, help="smallest change that counts (0.05: 5%%)")
    parser.add_argument("--measure", choices=MEASURES, default="relative", help="relative (default) or wall_s")
    parser.add_argument("--out", type=Path, help="where compare.md, .csv and the figure go (default: DIR_B/compare)")
    args = parser.parse_args(argv[1:])
    if not 0 <= args.min_effect < 1:
        print(f"error: --min-effect: {args.min_effect} is out of range; allowed: 0 to below 1", file=sys.stderr)
        return 2
    try:
        sweep_a, sweep_b = load(args.dir_a), load(args.dir_b)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    comparison = compare(sweep_a, sweep_b, args.min_effect, args.measure)
    if comparison.table.empty:
        print(f"error: no cells in common; matched on {', '.join(comparison.keys)}", file=sys.stderr)
        return 2
    print_table(comparison)
    written = write(comparison, args.dir_a, args.dir_b, args.out or args.dir_b / "compare")
    print(f"compare: {written[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
