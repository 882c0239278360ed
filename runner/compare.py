"""Compare two runs or sweeps cell by cell: ``python -m runner.compare DIR_A DIR_B``.

Cells are matched on their swept values (the columns that vary within either sweep);
columns constant within each but different between them (another interpreter,
another machine) are what the comparison is about and are printed as such.

What is compared (``--measure``). By default each repetition's *relative time*: 1 over
its speedup, which the sweep measured against a serial reference sampled all along it
(runner/core/pairing.py). A machine that runs everything 1.5x slower on the day of B (other
tenants, a throttled CPU) then changes no verdict, while a change in how an executor
scales does. The serial baselines themselves are listed with their raw wall-time ratio:
that is where a change of the machine, or of the workload's own code, shows.
``--measure wall_s`` compares raw wall times instead.

For each pair of cells: the ratio of medians B / A (below 1: B is faster), its bootstrap
95% confidence interval from the repetitions, a p-value (Welch's t-test on the logarithms
of the two samples: a ratio is a difference of logs), and a verdict. Many cells are
judged at once, so the p-values are adjusted for the false discovery rate
(Benjamini-Hochberg, ``--fdr``, default 5%). A cell is

- *faster* or *slower* when its adjusted p-value is below the rate, its CI excludes 1,
  and the ratio is beyond the minimum effect (default 5%) and beyond twice the noise of
  the ratio (the coefficients of variation of both samples in quadrature): a change
  smaller than the repetition-to-repetition noise is not a change;
- *no significant change* when, otherwise, the ratio is within that threshold and its CI
  within twice the minimum effect: the data rule out any change worth the name;
- *inconclusive* when neither: the estimate or its CI reaches past that, but the evidence
  for a change is too weak. More repetitions (``precision=``) decide it.

Cells with fewer than 2 repetitions on a side cannot be judged (*too few repetitions*).
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

from runner import files
from runner.results import aggregate
from runner.results.aggregate import write_csv
from runner.results.load import DataError, Sweep, load, param_columns

FASTER, SLOWER, SAME, INCONCLUSIVE = "faster", "slower", "no significant change", "inconclusive"
TOO_FEW = "too few repetitions"
BASELINE = "baseline"  # a serial cell under the relative measure: the reference, not judged
MEASURES = ("relative", "wall_s")
MIN_EFFECT = 0.05
NOISE_FACTOR = 2.0
RESAMPLES = 2000
CONFIDENCE = 0.95
FDR = 0.05
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
WHAT = {
    "relative": "relative time: 1 / speedup against the interleaved serial reference; serial rows: wall time",
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
    # a missing value (native_threads unset) is a value of its own, not a hole in the key
    frame = summary.reindex(columns=keys).map(lambda v: "" if pd.isna(v) else str(v))
    return frame.apply("|".join, axis=1) if len(frame) else pd.Series(dtype=str)


def ratio_ci(a: np.ndarray, b: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of median(B) / median(A), resampling each side's repetitions."""
    from scipy import stats

    if min(len(a), len(b)) < 2 or (np.ptp(a) == 0 and np.ptp(b) == 0):  # nothing to resample
        ratio = float(np.median(b) / np.median(a))
        return ratio, ratio
    result = stats.bootstrap(
        (a, b),
        lambda x, y, axis: np.median(y, axis=axis) / np.median(x, axis=axis),
        vectorized=True,
        paired=False,
        confidence_level=CONFIDENCE,
        n_resamples=RESAMPLES,
        method="percentile",
        random_state=seed,
    ).confidence_interval
    return float(result.low), float(result.high)


def p_value(a: np.ndarray, b: np.ndarray) -> float:
    """Welch's t-test on the logs of the two samples."""
    from scipy import stats

    x, y = np.log(a), np.log(b)
    if np.ptp(x) == 0 and np.ptp(y) == 0:  # no spread: any difference is exact
        return 0.0 if x[0] != y[0] else 1.0
    return float(stats.ttest_ind(x, y, equal_var=False).pvalue)


def adjust(p_values: list[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values: judged together, the cells share one error rate."""
    from scipy import stats

    known = [p for p in p_values if not math.isnan(p)]
    if not known:
        return p_values
    adjusted = iter(stats.false_discovery_control(known).tolist())
    return [p if math.isnan(p) else next(adjusted) for p in p_values]


def verdict(
    a: np.ndarray, b: np.ndarray, low: float, high: float, min_effect: float, *, p: float = 0.0, fdr: float = FDR
) -> tuple[str, float]:
    """The verdict for one pair of cells given its (adjusted) p-value, and the effect threshold it used."""
    if min(len(a), len(b)) < 2:
        return TOO_FEW, math.nan
    # the noise of the ratio: each sample's coefficient of variation, combined in quadrature
    noise = math.sqrt(sum((float(np.std(x, ddof=1) / np.mean(x))) ** 2 for x in (a, b)))
    threshold = max(min_effect, NOISE_FACTOR * noise)
    ratio = float(np.median(b) / np.median(a))
    significant = p < fdr
    # log-symmetric: 5% slower is x1.05, 5% faster is /1.05
    if significant and high < 1.0 and ratio <= 1.0 / (1.0 + threshold):
        return FASTER, threshold
    if significant and low > 1.0 and ratio >= 1.0 + threshold:
        return SLOWER, threshold
    # no change worth the name: the estimate is within the threshold, and the interval rules out
    # a change of twice the minimum effect (3 repetitions a side give no narrower interval);
    # noisy samples whose interval is wide stay inconclusive, whatever their estimate
    band = 1.0 + 2 * min_effect
    if 1.0 / (1.0 + threshold) <= ratio <= 1.0 + threshold and 1.0 / band <= low and high <= band:
        return SAME, threshold
    return INCONCLUSIVE, threshold


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


def compare(
    sweep_a: Sweep, sweep_b: Sweep, min_effect: float = MIN_EFFECT, measure: str = "relative", fdr: float = FDR
) -> Comparison:
    keys, differs = match_keys(sweep_a.summary, sweep_b.summary)
    a = sweep_a.summary.assign(key=_key_frame(sweep_a.summary, keys))
    b = sweep_b.summary.assign(key=_key_frame(sweep_b.summary, keys))
    merged = a.merge(b, on="key", suffixes=("_a", "_b"))
    relative = measure == "relative"
    # a serial cell is its own reference (relative time 1): its wall time shows the drift instead
    samples_a, samples_b = (samples(s.results, relative) for s in (sweep_a, sweep_b))
    walls_a, walls_b = (samples(s.results, False) for s in (sweep_a, sweep_b))
    busy_a, busy_b = (busy(s) for s in (sweep_a, sweep_b))
    rows, judged = [], []
    for _, row in merged.iterrows():
        serial = relative and row["executor_a"] == "serial"
        side_a = (walls_a if serial else samples_a).get(row["cell_a"], np.array([]))
        side_b = (walls_b if serial else samples_b).get(row["cell_b"], np.array([]))
        out: dict[str, Any] = {k: row[f"{k}_a"] if f"{k}_a" in row else row.get(k) for k in keys}
        out.update(cell_a=row["cell_a"], cell_b=row["cell_b"])
        out.update({"n_a": len(side_a), "n_b": len(side_b)})
        if not len(side_a) or not len(side_b):
            empty = [name for name, side in (("A", side_a), ("B", side_b)) if not len(side)]
            out.update(verdict=f"not measured in {' and '.join(empty)}")
            rows.append(out)
            continue
        low, high = ratio_ci(side_a, side_b)
        enough = min(len(side_a), len(side_b)) >= 2
        out.update(
            {
                "measure": "wall_s" if serial else measure,
                "median_a": float(np.median(side_a)),
                "median_b": float(np.median(side_b)),
                "ratio": float(np.median(side_b) / np.median(side_a)),
                "ci_low": low,
                "ci_high": high,
                "p": p_value(side_a, side_b) if enough else math.nan,
            }
        )
        judged.append((out, side_a, side_b, serial))
        rows.append(out)
    # the baselines are the reference, not judged: they do not spend the error rate
    cells = [(o, sa, sb) for o, sa, sb, serial in judged if not serial]
    for (out, _, _), adjusted in zip(cells, adjust([o["p"] for o, _, _ in cells]), strict=True):
        out["p_adjusted"] = adjusted
    for out, side_a, side_b, serial in judged:
        p = out.get("p_adjusted", out["p"])
        p = 1.0 if math.isnan(p) else p
        label, threshold = verdict(side_a, side_b, out["ci_low"], out["ci_high"], min_effect, p=p, fdr=fdr)
        out["busy"] = max(busy_a.get(out["cell_a"], 0.0), busy_b.get(out["cell_b"], 0.0))
        if label in (FASTER, SLOWER) and out["busy"] > aggregate.OTHERS:
            # the machine, not the code, may explain it: other programs took the CPUs in one sweep
            label = INCONCLUSIVE
        if serial:
            label = f"{BASELINE}: machine or workload {label}" if label in (FASTER, SLOWER) else BASELINE
        out.update(threshold=threshold, verdict=label)
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
    from runner.results.noise import BUSY_LOAD

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


def _busy_note(row: pd.Series) -> str:
    busy = row.get("busy")
    if busy is None or pd.isna(busy) or busy <= aggregate.OTHERS:
        return ""
    return f" (other programs took {busy:.0%} of the CPUs)"


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
                "verdict": r["verdict"] + _busy_note(r),
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
            "when either reaches past that without the evidence for a change: more repetitions (`precision=`) "
            "decide those. A change in a cell where other programs took more than "
            f"{aggregate.OTHERS:.0%} of the CPUs during either sweep is inconclusive too: the machine may explain "
            "it. Relative times divide by a serial reference sampled all along each sweep, so a machine that is "
            "slower on the day of one sweep moves no relative time."
        ),
    ]
    return blocks.markdown(found)


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


def main(argv: list[str]) -> int:
    """``argv`` as in ``sys.argv``: the program's name, then its arguments."""
    parser = argparse.ArgumentParser(
        prog="python -m runner.compare",
        description=__doc__.splitlines()[0],
        epilog="With --ab KEY=A,B the arguments are a sweep's overrides instead of two directories: A and B are "
        "measured in one sweep, interleaved cell by cell, then compared (runner/sweep/interleave.py).",
    )
    parser.add_argument(
        "dirs", nargs="*", help="DIR_A DIR_B: the reference run or sweep, then the one compared with it"
    )
    parser.add_argument("--ab", metavar="KEY=A,B", help="measure A and B interleaved in one sweep, then compare")
    parser.add_argument("--min-effect", type=float, default=MIN_EFFECT, help="smallest change that counts (0.05: 5%%)")
    parser.add_argument("--measure", choices=MEASURES, default="relative", help="relative (default) or wall_s")
    parser.add_argument("--fdr", type=float, default=FDR, help="false discovery rate over the cells (0.05: 5%%)")
    parser.add_argument("--out", type=Path, help="where compare.md, .csv and the figure go (default: DIR_B/compare)")
    args = parser.parse_args(argv[1:])
    if not 0 <= args.min_effect < 1:
        print(f"error: --min-effect: {args.min_effect} is out of range; allowed: 0 to below 1", file=sys.stderr)
        return 2
    if not 0 < args.fdr < 1:
        print(f"error: --fdr: {args.fdr} is out of range; allowed: above 0 and below 1", file=sys.stderr)
        return 2
    if args.ab is None and len(args.dirs) != 2:
        print("error: dirs: expected DIR_A DIR_B; allowed: two directories, or --ab KEY=A,B OVERRIDES", file=sys.stderr)
        return 2
    try:
        if args.ab is not None:
            sweep_a, sweep_b = measured_side_by_side(args.ab, args.dirs, args.out)
            dir_a = dir_b = sweep_a.root
        else:
            dir_a, dir_b = Path(args.dirs[0]), Path(args.dirs[1])
            sweep_a, sweep_b = load(dir_a), load(dir_b)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    comparison = compare(sweep_a, sweep_b, args.min_effect, args.measure, args.fdr)
    if comparison.table.empty:
        print(f"error: no cells in common; matched on {', '.join(comparison.keys)}", file=sys.stderr)
        return 2
    print_table(comparison)
    out = dir_b / "compare" if args.ab is not None or args.out is None else args.out
    written = write(comparison, dir_a, dir_b, out)
    print(f"compare: {written[0]}")
    return 0


def measured_side_by_side(ab: str, overrides: list[str], out: Path | None) -> tuple[Sweep, Sweep]:
    """--ab: one sweep with KEY=A,B interleaved into ``out`` (default outputs/sweeps/ab-TIME), split in two."""
    from datetime import datetime

    from runner.sweep import interleave

    interleave.parse(ab)  # a malformed KEY=A,B fails before anything runs
    root = (out or Path("outputs/sweeps") / datetime.now().strftime("ab-%Y-%m-%d-%H-%M-%S")).absolute()
    code = interleave.run_side_by_side(ab, overrides, root)
    if code != 0:
        raise DataError(f"--ab: the sweep into {root} exited with code {code}; see above")
    return interleave.split(root, ab)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
