"""Load a run or sweep directory into tidy DataFrames: ``runner.load(DIR)``.

Everything the report draws comes through here, from the files alone. results.csv is
the measurement; summary.csv is a cache of it, so cells whose summary row disagrees
with results.csv (a hand-edited or truncated file) are summarised again from
results.csv and marked incomplete when repetitions are missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from runner import files
from runner.exiting import printable
from runner.files import TIDY_SCHEMA
from runner.results import aggregate, fits
from runner.results import environment as env
from runner.results.hydra_records import Recorded, RecordError, read
from runner.results.labels import flags, label, param_columns, table_order, with_panels
from runner.results.noise import BUSY_LOAD, NOISY_CV

REQUIRED = ("cell", "workload", "executor", "start_method", "workers", "status")
MEASURED = ("rep", "tasks", "wall_s", "speedup", "parallelism")  # required once any cell is ok
# what a measured row must hold: a count of at least one, a time above zero (finite, both)
COUNTS, TIMES = ("workers", "tasks"), ("wall_s",)
# what the summary's readers compute with: a summary.csv without one of them is made again
SUMMARY_COLUMNS = (
    "cell", "n", "workload", "executor", "workers", "tasks", "status", "cv", "noisy",
    "wall_s_median", "speedup_median", "speedup_ci_low", "speedup_ci_high", "parallelism_median",
)  # fmt: skip
NUMERIC = (
    "workers", "tasks", "rep", "round", "wall_s", "startup_s", "cpu_s", "parallelism", "speedup", "process_cpu_s",
    "others_cpu_s", "steal", "runqueue_s", "involuntary_switches", "load_1m", "task_cpu_share", "outside_cpu_share",
    "reference_task_cpu_s", "probe_cpu_s", "probe_tasks", "drift",
)  # fmt: skip
# medians the summary lacks but the report and the verdicts use
EXTRA_MEDIANS = (
    "startup_s", "throughput", "cpu_s", "peak_rss_mb", "process_cpu_s", "outside_cpu_share", "task_parallelism",
)  # fmt: skip
TASK_COLUMNS = {"cell": str, "rep": "Int64", "task": "Int64", "worker": str, "start_s": float, "end_s": float}


NOISE_MEANING = (
    f"wall-time spread above {NOISY_CV:.0%}, load above the CPUs, or a slow first repetition: numbers to read "
    "with their intervals"
)


class DataError(ValueError):
    """A file that is not the tidy schema: the message names the file, the column and what is expected."""


@dataclass
class Sweep:
    """The tidy tables of one run or sweep, as ``runner.load`` returns them."""

    root: Path
    results: pd.DataFrame
    tasks: pd.DataFrame
    summary: pd.DataFrame
    environment: dict[str, Any]
    recorded: Recorded | None
    # problems found while loading, phrased for the report's warnings
    problems: list[str] = field(default_factory=list)

    @property
    def cores(self) -> int:
        return env.cores(self.environment)

    @cached_property
    def warnings(self) -> list[str]:
        """What the report warns about (``doubts``), its scaling fits included."""
        if self.summary.empty:  # nothing measured: the report refuses such a directory, a notebook sees why
            return [*self.problems, "results.csv holds no cells"]
        return doubts(self, fits.fit(self.summary))

    @property
    def params(self) -> list[str]:
        """Workload parameter names (``workload.<name>`` columns), without the prefix."""
        return [c.removeprefix("workload.") for c in param_columns(self.summary)]


def _inside(root: Path, name: str) -> Path:
    return files.own(root, root / name, DataError)


def _read_csv(path: Path, **kwargs: Any) -> pd.DataFrame:
    try:
        frame: pd.DataFrame = pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except OSError as exc:  # unreadable, or a folder: what is wrong with the directory, not a failed write
        raise DataError(f"{path.name}: cannot read ({exc.strerror})") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path.name}: not a readable CSV ({first}); expected the tidy schema v1") from None
    return frame


def _printable(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with control characters in its text escaped (``\x1b[31m``): a received file's
    names reach the terminal, the report and compare's table, and an escape sequence must not act."""
    for column in frame.columns:
        if frame[column].dtype.kind == "O":  # text, or a mix
            frame[column] = frame[column].map(lambda v: printable(v) if isinstance(v, str) else v)
    return frame


def _numeric(frame: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    for column in columns:
        if column not in frame or pd.api.types.is_numeric_dtype(frame[column]):
            continue  # the CSV parser found numbers only: nothing to check
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna() & (frame[column].astype(str).str.strip() != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{name}: column {column!r} holds {frame[column].iloc[row]!r} on line {row + 2}; expected a number"
            )
        frame[column] = values


def _results(root: Path) -> pd.DataFrame:
    results = _printable(_read_csv(_inside(root, "results.csv")))
    if results.empty:
        return results
    written = pd.to_numeric(results.get("schema", pd.Series([TIDY_SCHEMA])), errors="coerce").max()
    if written > TIDY_SCHEMA:
        raise DataError(
            f"results.csv: written with tidy schema v{written:g}, newer than this lab reads (v{TIDY_SCHEMA} "
            "and the files before versioning); upgrade concurrency-lab to report it"
        )
    missing = [c for c in REQUIRED if c not in results]
    if not missing and (results["status"] == "ok").any():
        missing = [c for c in MEASURED if c not in results]
    if missing:
        raise DataError(
            f"results.csv: missing column {missing[0]!r}; expected the tidy schema v1 (docs/architecture.md)"
        )
    _numeric(results, "results.csv", NUMERIC)
    _plausible(results)
    results["start_method"] = results["start_method"].astype(object).fillna("")  # all empty: read as float
    if "round" not in results:  # written before rounds: one pass
        results["round"] = 0
    return results


def _whole(values: np.ndarray) -> np.ndarray:
    whole: np.ndarray = np.isfinite(values) & (values >= 1) & (values == np.round(values))
    return whole


def _positive(values: np.ndarray) -> np.ndarray:
    positive: np.ndarray = np.isfinite(values) & (values > 0)
    return positive


def _plausible(results: pd.DataFrame) -> None:
    """Measured rows whose counts and times could have been measured, one cell one configuration:
    a hand-edited or damaged file fails here in one line, not later in arithmetic."""
    ok = results[results["status"] == "ok"]
    checks = [(c, _whole, "a whole number of at least 1") for c in COUNTS]
    checks += [(c, _positive, "a finite number above 0") for c in TIMES]
    for column, wanted, allowed in checks:
        if column not in ok:
            continue
        values = ok[column].to_numpy(dtype=float)
        bad = ~wanted(values)
        if bad.any():
            row = int(ok.index[np.flatnonzero(bad)[0]])
            raise DataError(
                f"results.csv: column {column!r} holds {values[bad][0]:g} on line {row + 2}; expected {allowed}"
            )
    varies = ok.groupby("cell")[[c for c in COUNTS if c in ok]].nunique()
    if (varies > 1).any(axis=None):
        cell = varies.index[(varies > 1).any(axis=1)][0]
        raise DataError(
            f"results.csv: cell {cell} has rows with different workers or tasks; expected one configuration"
        )


def _expected_rows(results: pd.DataFrame, recorded: Recorded | None) -> pd.Series:
    """Per cell, the repetitions a complete cell has: repeats per round times the rounds."""
    rounds = results["round"].nunique()
    if aggregate.EXPECTED in results:
        per_cell = results.groupby("cell")[aggregate.EXPECTED].max()
    else:  # written before the column existed: the recorded config, else the most any cell has
        repeats = (recorded.config.get("repeats") if recorded else None) or None
        ok = results[results["status"] == "ok"].groupby("cell").size()
        fallback = repeats if isinstance(repeats, int) else (int(ok.max() / rounds) if len(ok) else 0)
        per_cell = pd.Series(fallback, index=results["cell"].unique())
    return per_cell * rounds


def _unusable(summary: pd.DataFrame) -> str | None:
    """Why summary.csv cannot be read as it is (a column missing, text where numbers go, a cell
    twice), or None. It is derived from results.csv, so the cure is to summarise again."""
    missing = [c for c in SUMMARY_COLUMNS if c not in summary]
    if missing:
        return f"lacks column {missing[0]!r}"
    for column in [c for c in ("noisy", "impossible", "above_limit", "oversubscribed") if c in summary]:
        odd = ~summary[column].astype(object).isin([True, False, "True", "False"]) & summary[column].notna()
        if odd.any():
            return f"column {column!r} holds {summary.loc[odd, column].iloc[0]!r}; expected True or False"
    names = [str(c) for c in summary]
    counted = ("n", "workers", "tasks", "cv", "errors", "speedup_limit", "precision", "precision_reached")
    numbers = [c for c in names if c in counted or c.endswith(("_median", "_ci_low", "_ci_high"))]
    try:
        _numeric(summary, "summary.csv", tuple(numbers))
    except DataError as exc:
        return str(exc).removeprefix("summary.csv: ")
    return None


def _reconcile(
    results: pd.DataFrame, summary: pd.DataFrame, cores: int, problems: list[str], unusable: str | None = None
) -> pd.DataFrame:
    """Summarise again the cells whose summary row does not match results.csv (all of them where
    summary.csv is missing or ``unusable``, which says why)."""
    ok = results[(results["status"] == "ok") & results["rep"].notna()] if not results.empty else results
    counted = ok.groupby("cell").size() if not ok.empty else pd.Series(dtype=int)
    in_results = set(results["cell"]) if not results.empty else set()
    if summary.empty or "cell" not in summary or "n" not in summary:
        stale = in_results
        if in_results:
            problems.append(f"summary.csv {unusable or 'missing or unreadable'}: summarised again from results.csv")
    else:
        n = summary.groupby("cell")["n"].sum()  # a cell measured under two patch versions of python has two rows
        stale = {c for c in in_results if c not in n.index or counted.get(c, 0) != n[c]}
        orphans = ~summary["cell"].isin(in_results)
        if orphans.any():  # every row of these cells is gone from results.csv: nothing measured remains
            summary = summary.copy()
            summary.loc[orphans, "n"] = 0
            measures = [str(c) for c in summary if str(c).endswith(("_median", "_ci_low", "_ci_high")) or c == "cv"]
            summary.loc[orphans, measures] = np.nan
        if stale or orphans.any():
            problems.append(
                f"summary.csv disagrees with results.csv for {len(stale) + int(orphans.sum())} cell(s): "
                "summarised again from results.csv"
            )
    if not stale:
        return summary
    fresh = aggregate.summary(results, cores, stale)
    kept = summary[~summary["cell"].isin(stale)] if "cell" in summary else summary.iloc[0:0]
    return pd.concat([kept, fresh], ignore_index=True) if not kept.empty else fresh.reset_index(drop=True)


def _derive(summary: pd.DataFrame, results: pd.DataFrame, expected: pd.Series) -> pd.DataFrame:
    """Columns the figures and the verdicts read, derived from the two tables."""
    summary = summary.copy()
    summary["start_method"] = summary["start_method"].astype(object).fillna("")
    summary["in_flight"] = np.minimum(summary["workers"], summary["tasks"])
    for end in ("median", "ci_low", "ci_high"):
        summary[f"efficiency_{end}"] = summary[f"speedup_{end}"] / summary["workers"]
    ok = results[results["status"] == "ok"] if "status" in results else results
    columns = [c for c in EXTRA_MEDIANS if c in ok]
    if columns and not ok.empty:
        grouped = ok.groupby("cell")[columns]
        medians, lows, highs = grouped.median(), grouped.min(), grouped.max()
        for column in columns:
            summary[f"{column}_median"] = summary["cell"].map(medians[column])
            summary[f"{column}_min"] = summary["cell"].map(lows[column])
            summary[f"{column}_max"] = summary["cell"].map(highs[column])
    # a measure's bare name is its median, the name expect: reads (speedup is speedup_median, the file's name)
    for column in [str(c) for c in summary.columns if str(c).endswith("_median")]:
        summary[column.removesuffix("_median")] = summary[column]
    want = summary["cell"].map(expected).fillna(expected.max() if len(expected) else 0)
    summary["expected"] = want.astype(int)
    summary["complete"] = (summary["status"] == "ok") & (summary["n"] >= want)
    return table_order(summary).reset_index(drop=True)


def _tasks(root: Path, summary: pd.DataFrame, problems: list[str]) -> pd.DataFrame:
    path = _inside(root, "tasks.csv")
    if not path.is_file():
        problems.append("tasks.csv missing: no timelines or task latency figures")
        return pd.DataFrame(columns=list(TASK_COLUMNS))
    header = _read_csv(path, nrows=0)
    missing = [c for c in TASK_COLUMNS if c not in header]
    if missing and not header.columns.empty:
        raise DataError(f"tasks.csv: missing column {missing[0]!r}; expected the tidy schema v1")
    tasks = _read_csv(path, usecols=[*TASK_COLUMNS, *(c for c in ("cpu_s", "ok") if c in header)])
    if tasks.empty:
        return pd.DataFrame(columns=list(TASK_COLUMNS))
    _numeric(tasks, "tasks.csv", ("rep", "task", "start_s", "end_s", "cpu_s"))
    have = tasks.groupby("cell").size()
    ok = summary[summary["status"] == "ok"]
    want = (ok["tasks"] * ok["n"]).set_axis(ok["cell"])
    short = [c for c in want.index if have.get(c, 0) < want[c]]
    if short:
        problems.append(f"tasks.csv lacks task rows for {len(short)} cell(s): {', '.join(short[:5])}")
    return tasks


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _numbers(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)


# The keys of environment.json that readers compute with, and what each must be.
ENVIRONMENT_TYPES = (
    ("cpu_count", _count, "a whole number of at least 1"),
    ("physical_cores", _count, "a whole number of at least 1"),
    (
        "cpu_affinity",
        lambda v: isinstance(v, list) and all(isinstance(c, int) and _count(c + 1) for c in v),
        "a list of CPU numbers",
    ),
    (
        "packages",
        lambda v: isinstance(v, dict) and all(isinstance(x, str | None) for x in v.values()),
        "a mapping of package names to versions",
    ),
    ("load_before", _numbers, "a list of numbers"),
    ("load_after", _numbers, "a list of numbers"),
)


def _environment(root: Path, problems: list[str]) -> dict[str, Any]:
    path = _inside(root, "environment.json")
    if not path.is_file():
        problems.append("environment.json missing: the machine is unknown")
        return {}
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as exc:  # JSON that is not, not UTF-8, nested past reading
        raise DataError(f"environment.json: not readable JSON ({type(exc).__name__})") from None
    if not isinstance(found, dict):
        raise DataError("environment.json: expected a JSON object")
    for key, kind, allowed in ENVIRONMENT_TYPES:
        value = found.get(key)
        if value is not None and not kind(value):
            raise DataError(f"environment.json: {key} is {value!r}; expected {allowed}")
    return found


def doubts(sweep: Sweep, fitted: pd.DataFrame) -> list[str]:
    """What should make a reader doubt a number, most serious first: the report's warnings and
    ``Sweep.warnings`` (``fitted``: the sweep's scaling fits, ``fits.fit``)."""
    summary, machine, found = table_order(with_panels(sweep.summary)), sweep.environment, list(sweep.problems)
    failed = summary[summary["status"] != "ok"]
    for _, row in failed.head(5).iterrows():
        found.append(f"cell {row['cell']} ({label(row)}) {row['status']}")
    over = summary[flags(summary, "oversubscribed")]
    if len(over):
        names = "; ".join(f"{label(r)}: {r['oversubscription']}" for _, r in over[:5].iterrows())
        found.append(
            f"{len(over)} oversubscribed cell(s), more native threads than CPUs, which take turns (their wall times"
            f" and speedups measure that, not the executor; native_threads=1 or auto avoids it): {names}"
        )
    for _, cell in summary[flags(summary, "impossible")].iterrows():
        found.append(
            f"impossible value in {label(cell)}: {cell['impossible_why']}. It is not a measurement: it is "
            "left out of the verdicts that read speedup or efficiency and marked in the figures; measure again on a "
            "quieter machine"
        )
    at_limit = summary[flags(summary, "above_limit")]
    if len(at_limit):
        first = at_limit.iloc[0]
        others = (
            f"; likewise {', '.join(label(r) for _, r in at_limit.iloc[1:6].iterrows())}" if len(at_limit) > 1 else ""
        )
        found.append(f"{len(at_limit)} cell(s) at the limit: {label(first)}: {aggregate.at_limit(first)}{others}")
    noisy = summary[flags(summary, "noisy")]
    if len(noisy):
        worst = noisy.sort_values("cv", ascending=False).head(5)
        names = ", ".join(f"{label(r)} ({r['cv']:.0%})" for _, r in worst.iterrows())
        found.append(f"{len(noisy)} noisy cell(s) ({NOISE_MEANING}); the widest spread: {names}")
        for _, cell in noisy[noisy["noise_cause"].astype(object).fillna("").astype(bool)].head(5).iterrows():
            found.append(f"noisy {label(cell)}: {cell['noise']}; the probes saw: {cell['noise_cause']}")
    if "precision_met" in summary:
        short = summary[summary["precision_met"].notna() & ~summary["precision_met"].fillna(True).astype(bool)]
        for _, cell in short.head(5).iterrows():
            found.append(
                f"{label(cell)} reached +-{cell['precision_reached']:.1%} on speedup, not the +-"
                f"{cell['precision']:.0%} asked for ({cell['precision_stop']})"
            )
    errors = int(summary["errors"].sum()) if "errors" in summary else 0
    if errors:
        found.append(f"{errors} task(s) raised (counted in `errors`, the cells went on)")
    before = machine.get("load_before") or []
    if before and before[0] > BUSY_LOAD * sweep.cores:
        found.append(
            f"the machine was busy before the sweep: 1-minute load {before[0]:.2f} on {sweep.cores} cores "
            "(other work competes with the cells; compare with care)"
        )
    poor = fitted[fitted["amdahl_poor"] | fitted["usl_poor"]] if not fitted.empty else fitted
    if len(poor):
        found.append(f"{len(poor)} poor scaling fit(s); see the fits table")
    if machine.get("git_dirty"):
        found.append("the project had uncommitted changes: the git revision alone does not reproduce it")
    return found


def load(root: str | Path) -> Sweep:
    """The tidy tables of a run or sweep directory; DataError says what is wrong with it."""
    root = Path(root)
    if not root.is_dir():
        what = "not a directory" if root.exists() else "no such directory"
        raise DataError(f"{root}: {what}; give a run or sweep directory")
    if not (root / "results.csv").is_file():
        raise DataError(f"{root}: no results.csv here; give a run or sweep directory")
    problems: list[str] = []
    results = _results(root)
    try:
        recorded: Recorded | None = read(root)
    except RecordError as exc:
        problems.append(f"{exc}: no verdicts or command")
        recorded = None
    if results.empty:  # a summary.csv beside no results describes nothing that can be read back
        return Sweep(root, results, pd.DataFrame(columns=list(TASK_COLUMNS)), pd.DataFrame(), {}, recorded, problems)
    summary_path = _inside(root, "summary.csv")
    summary = _printable(_read_csv(summary_path)) if summary_path.is_file() else pd.DataFrame()
    unusable = _unusable(summary) if not summary.empty else None
    if unusable:
        summary = pd.DataFrame()
    environment = _environment(root, problems)
    summary = _reconcile(results, summary, env.cores(environment), problems, unusable)
    summary = _derive(summary, results, _expected_rows(results, recorded))
    named = with_panels(summary)
    for _, row in named[(named["status"] == "ok") & ~named["complete"]].sort_index().iterrows():
        problems.append(
            f"cell {row['cell']} ({label(row)}) is incomplete: {row['n']} of {row['expected']} repetitions in "
            "results.csv"
        )
    return Sweep(root, results, _tasks(root, summary, problems), summary, environment, recorded, problems)
