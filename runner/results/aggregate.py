"""From the cell files of a run or sweep to the tidy CSVs (the contract in DESIGN.md)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from runner import files
from runner.core import pairing, probes
from runner.core.task import stored
from runner.files import TIDY_SCHEMA, write_json
from runner.results import noise
from runner.results.cell_store import CellStore
from runner.results.environment import cores, read_environment
from runner.results.labels import table_order

SWEPT = [
    "workload", "executor", "start_method", "workers", "python", "implementation", "free_threaded", "gil",
    "switch_interval", "native_threads", "tasks", "fail_rate",
]  # fmt: skip
# Not an axis but the count a complete cell has: the report marks cells with fewer rows.
EXPECTED = "repeats"
MEASURES = ["wall_s", "speedup", "parallelism"]
RESAMPLES = 999  # bootstrap resamples of a median
# The fixed columns of results.csv, in order; workload parameters and metrics follow.
RESULT_COLUMNS = [
    "schema", "sweep", "cell", "baseline", "round", "workload", "executor", "start_method", "workers",
    "python", "implementation", "free_threaded", "gil", "switch_interval", "native_threads", "tasks", "fail_rate",
    "rep", "wall_s", "startup_s", "cpu_s", "process_cpu_s", "outside_cpu_share", "parallelism", "speedup",
    "efficiency", "throughput", "peak_rss_mb", "errors", "load_1m", "status", "message",
    "speedup_unpaired", "probe_s", "probe_tasks", "probe_cpu_s", "drift", "reference_task_cpu_s", "steal",
    "others_cpu_s", "runqueue_s", "involuntary_switches", "task_cpu_share",
]  # fmt: skip
# The cause of a cell's noise that the probes saw (runner/core/probes.py), and when each counts.
STEAL = 0.02  # of the machine's CPU time
DRIFT = 0.10  # the machine's speed, by the probe, against the baseline's
RUNQUEUE = 0.10  # runnable threads waiting for a CPU, in wall seconds
OTHERS = noise.BUSY_OTHERS  # of the machine's CPU time, taken by other programs during the task phase
SWITCHES = 2.0  # the most preempted repetition over the median one
# Impossible values: how far past the accounting bound a median may go before it is flagged. The
# capacity bound's slack (half as far for the whole 95% interval) and how busy a serial task must keep
# its CPU to count as work that only computes are pairing's, where the sweep's job lines apply them too.
ACCOUNTING_SLACK = 0.25


def _counted(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in record["result"]["reps"] if not r["warmup"]]


def _paired(rep: dict[str, Any], pool: list[float]) -> dict[str, Any]:
    """The probe's columns: its times, and the machine's speed then against the sweep's (drift)."""
    probe = rep.get("probe")
    if not probe:
        return {}
    return {
        "probe_s": probe["wall_s"],
        "probe_tasks": len(probe["tasks"]),
        "probe_cpu_s": probe["cpu_s"],
        "drift": pairing.drift(probe, pool),
    }


def _others(rep: dict[str, Any], cpu: float) -> float | None:
    """What other programs ran while the tasks did: the machine's busy CPU time less the cell's own
    (its tasks' processes, and the cell's process handing them tasks)."""
    busy = rep.get("machine_busy_s")
    return None if busy is None else max(busy - cpu - (rep.get("dispatch_cpu_s") or 0.0), 0.0)


def _rows(
    record: dict[str, Any], sweep: str, base_reps: list[dict[str, Any]], pool: list[float]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    spec, result = record["spec"], record["result"]
    interp = result.get("interpreter", {})
    workload = spec["workload"]
    common = {
        "schema": TIDY_SCHEMA,
        "sweep": sweep,
        "cell": record["cell"],
        "baseline": record["baseline"],
        "round": record["round"],
        "workload": workload["name"],
        "executor": spec["executor"]["name"],
        "start_method": spec["start_method"],
        "workers": spec["workers"],
        "python": interp.get("python", ""),
        "implementation": interp.get("implementation", ""),
        "free_threaded": interp.get("free_threaded_build"),
        "gil": interp.get("gil"),
        "switch_interval": spec.get("switch_interval"),
        "native_threads": None if spec.get("native_threads") is None else str(spec["native_threads"]),
        "native_limit": result.get("native_limit"),
        "tasks": workload["tasks"],
        "fail_rate": workload["fail_rate"],
        EXPECTED: spec["repeats"],
        **{f"workload.{k}": v for k, v in workload["params"].items()},
        **{f"executor.{k}": v for k, v in spec["executor"]["options"].items()},
        "load_1m": (result.get("load_before") or [None])[0],
    }
    counted = _counted(record)
    if not counted:  # a failed cell still leaves one row that says why
        return [{**common, "rep": None, "status": result["status"], "message": result["message"]}], []
    if "precision" in result:
        common.update({"precision": result["precision"]["target"], "precision_stop": result["precision"]["stop"]})
    results: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    unpaired = float(np.median([r["wall_s"] for r in base_reps])) if base_reps else np.nan
    # the CPU per task the reference assumes: the sweep's probes' median, else the baseline's own
    reference_task_cpu = np.nan
    if pool:
        reference_task_cpu = float(np.median(pool))
    elif base_reps:
        reference_task_cpu = pairing.reference(base_reps)[0] / len(base_reps[0]["tasks"])
    speedups = pairing.speedups(counted, base_reps, pool)
    for rep, speedup in zip(counted, speedups, strict=True):
        cpu = pairing.task_cpu(rep)
        process_cpu = rep.get("process_cpu_s")
        results.append(
            {
                **common,
                "rep": rep["rep"] - spec["warmup"],
                "wall_s": rep["wall_s"],
                "startup_s": rep["startup_s"],
                "cpu_s": cpu,
                "process_cpu_s": process_cpu,
                "outside_cpu_share": max(0.0, 1 - cpu / process_cpu) if process_cpu else None,
                "parallelism": pairing.busy_cpu(rep) / rep["wall_s"],
                "speedup": np.nan if speedup is None else speedup,
                "speedup_unpaired": unpaired / rep["wall_s"],
                "reference_task_cpu_s": reference_task_cpu,
                "task_parallelism": cpu / rep["wall_s"],
                "native_pools": rep.get("native_pools"),
                "native_threads_seen": rep.get("native_threads_seen"),
                "os_threads": rep.get("os_threads"),
                "throughput": workload["tasks"] / rep["wall_s"],
                "peak_rss_mb": rep["peak_rss_mb"],
                "errors": sum(not t.ok for t in map(stored, rep["tasks"])),
                "status": result["status"],
                "message": result["message"],
                # records from before the probes have none of these: the cell's load stands in
                "load_1m": rep.get("load_1m", common["load_1m"]),
                "steal": rep.get("steal"),
                "others_cpu_s": _others(rep, pairing.busy_cpu(rep)),
                "runqueue_s": rep.get("runqueue_s"),
                "involuntary_switches": rep.get("involuntary_switches"),
                "task_cpu_share": pairing.task_cpu_share(rep["tasks"]),
                **_paired(rep, pool),
                **rep.get("metrics", {}),
            }
        )
        tasks.extend(
            {
                "cell": record["cell"],
                "round": record["round"],
                "rep": rep["rep"] - spec["warmup"],
                "task": t.task,
                "worker": f"{t.pid}/{t.thread}",
                "pid": t.pid,
                "start_s": t.start_s,
                "end_s": t.end_s,
                "cpu_s": t.cpu_s,
                "ok": t.ok,
                "error": t.error,
            }
            for t in map(stored, rep["tasks"])
        )
    return results, tasks


def frames(records: Iterable[dict[str, Any]], sweep: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    records = list(records)
    # a baseline's repetitions, pooled over rounds, divide every cell measured against it
    base_reps: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        base_reps.setdefault(record["cell"], []).extend(_counted(record) if record["result"]["status"] == "ok" else [])
    pools = pairing.probe_pools(records, base_reps)
    results: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    for record in records:
        r, t = _rows(record, sweep, base_reps.get(record["baseline"], []), pools.get(record["baseline"], []))
        results.extend(r)
        tasks.extend(t)
    res = pd.DataFrame(results)
    if res.empty:
        return res, pd.DataFrame(tasks)
    res = res.reindex(columns=[*RESULT_COLUMNS, *(c for c in res.columns if c not in RESULT_COLUMNS)])
    res["efficiency"] = res["speedup"] / res["workers"]
    return res, pd.DataFrame(tasks)


def median_with_ci(values: np.ndarray) -> tuple[float, float, float]:
    """The median and its percentile-bootstrap 95% CI, 999 resamples from a fixed seed.

    The same numbers as ``scipy.stats.bootstrap(..., np.median, method="percentile",
    random_state=0)`` (tests/test_aggregate.py compares them), in numpy alone: importing
    scipy.stats took 0.55 s and tearing it down at exit 0.2 s more, a third of a one-cell sweep
    (docs/overhead.md).
    """
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return (np.nan, np.nan, np.nan)
    median = float(np.median(values))
    if len(values) < 2 or np.ptp(values) == 0:
        return (median, median, median)
    resamples = values[np.random.RandomState(0).randint(0, len(values), (RESAMPLES, len(values)))]
    low, high = np.quantile(np.median(resamples, axis=-1), [0.025, 0.975])
    return (median, float(low), float(high))


def native_per_task(group: pd.DataFrame) -> float:
    """The native threads each task in flight could run: the limit set, else the largest pool seen."""
    for column in ("native_limit", "native_threads_seen"):
        if column in group and group[column].notna().any():
            return float(group[column].max())
    return np.nan


def oversubscription(in_flight: int, threads: float, cores: int) -> str:
    """The arithmetic of a cell that asks for more CPUs than there are, or ''.

    One native thread per task is plain work (more workers than cores is an axis of its
    own), so only native pools of two or more threads count.
    """
    if np.isnan(threads) or threads <= 1 or in_flight * threads <= cores:
        return ""
    return f"{in_flight} in flight x {threads:g} native threads = {in_flight * threads:g} > {cores} CPUs"


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    values: np.ndarray = frame[name].to_numpy(dtype=float) if name in frame else np.array([])
    known: np.ndarray = values[~np.isnan(values)]
    return known


def causes(ok: pd.DataFrame, cores: int) -> list[str]:
    """What the probes saw while a cell's repetitions ran (runner/core/probes.py)."""
    found = []
    steal = _column(ok, "steal")
    if len(steal) and steal.max() > STEAL:
        found.append(f"CPU steal up to {steal.max():.0%} of the machine's time (a hypervisor ran other guests)")
    drift = _column(ok, "drift")
    if len(drift) and max(drift.max(), 1 / drift.min()) - 1 > DRIFT:
        found.append(
            f"the machine's speed changed: the serial probe took {drift.min():.2f} to {drift.max():.2f}x the "
            "sweep's usual CPU time per task"
        )
    waited, wall = _column(ok, "runqueue_s"), _column(ok, "wall_s")
    if len(waited) and len(waited) == len(wall) and (waited / wall).max() > RUNQUEUE:
        found.append(
            f"threads waited for a CPU while runnable, up to {(waited / wall).max():.0%} of the wall time summed over "
            "threads (other programs, or more busy threads than CPUs)"
        )
    switches = _column(ok, "involuntary_switches")
    if len(switches) > 1 and switches.max() > SWITCHES * max(np.median(switches), 1) and switches.max() >= 100:
        found.append(
            f"preempted: {switches.min():.0f} to {switches.max():.0f} involuntary context switches per repetition"
        )
    others = others_share(ok, cores).dropna()
    if len(others) and others.max() > OTHERS:
        found.append(f"other programs used up to {others.max():.0%} of the CPUs while the tasks ran")
    load = _column(ok, "load_1m")
    if len(load) and load.max() > cores:
        found.append(f"1-minute load up to {load.max():.1f} on {cores} CPUs")
    return found


# /proc/stat counts each CPU's time in ticks, so the machine's busy time over a repetition is off
# by up to a tick per CPU: over fewer than ten ticks, by more than a tenth of what the CPUs had.
RESOLVED_TICKS = 10


def others_share(frame: pd.DataFrame, cores: int) -> pd.Series:
    """Per repetition, the share of the machine's CPU time that other programs took while it ran, at
    least: less the tick per CPU that /proc/stat may have counted too many, at most all of it, and
    unknown (NaN) for a repetition too short for the ticks to resolve."""
    if "others_cpu_s" not in frame:  # files from before the probe
        return pd.Series(dtype=float)
    ticks = frame["wall_s"] * probes.TICKS_PER_S
    share = frame["others_cpu_s"] / (frame["wall_s"] * cores) - 1 / ticks
    return share.where(ticks >= RESOLVED_TICKS).clip(lower=0.0, upper=1.0)


def _medians(frame: pd.DataFrame, column: str) -> float:
    values = _column(frame, column)
    return float(np.median(values)) if len(values) else np.nan


def speedup_limit(row: dict[str, Any], base: pd.DataFrame, cores: int) -> float:
    """min(workers, tasks, CPUs): the most speedup a cell can show where the work only computes
    (the serial baseline's median task is on a CPU at least ``pairing.COMPUTES`` of its time) and the
    serial run's CPU is all its task thread's; NaN where no such bound holds (waiting work, native
    pools that keep CPUs busy without work to show for it)."""
    busy, outside = _medians(base, "task_cpu_share"), _medians(base, "outside_cpu_share")
    found = pairing.capacity(
        None if pd.isna(busy) else busy, None if pd.isna(outside) else outside, min(row["workers"], row["tasks"]), cores
    )
    return np.nan if found is None else found


def at_limit(row: pd.Series) -> str:
    """Why a cell flagged ``above_limit`` is quoted as its limit, not as more."""
    limit = row["speedup_limit"]
    return (
        f"speedup {row['speedup_median']:.2f} is above {limit:g}, the most that "
        f"{min(int(row['workers']), int(row['tasks']))} task(s) in flight on the CPUs permit, by less than the "
        f"{pairing.CAPACITY_SLACK:.0%} left for the serial reference's noise: at the limit, not beyond it"
    )


def impossible(row: dict[str, Any], ok: pd.DataFrame, base: pd.DataFrame, cores: int) -> list[str]:
    """Why a cell's speedup is more than its own accounting permits: a measurement error, or
    a gain that is not concurrency, never a plain result.

    Two bounds, for work that only computes (the serial baseline's median task is on a CPU
    at least ``pairing.COMPUTES`` of its time): the capacity, ``row["speedup_limit"]`` (``speedup_limit``);
    and the accounting, the cell's parallelism times the CPU time per task of its own probes (else
    the baseline's) over its tasks' (the speedup if the reference had run at the speed of the moment).
    """
    speedup = row.get("speedup_median", np.nan)
    busy = _medians(base, "task_cpu_share")
    if pd.isna(speedup) or pd.isna(busy) or busy < pairing.COMPUTES:
        return []
    found = []
    base_per_task = _medians(base, "cpu_s") / row["tasks"]
    reference = _medians(ok, "reference_task_cpu_s")
    if pd.isna(reference):  # records from before the column
        reference = base_per_task
    cheaper = float(np.nanmedian(ok["cpu_s"] / row["tasks"] / reference))
    cap = row["speedup_limit"]
    low = row.get("speedup_ci_low", np.nan)
    if pd.notna(cap) and (
        speedup > cap * (1 + pairing.CAPACITY_SLACK) or (pd.notna(low) and low > cap * (1 + pairing.CAPACITY_SLACK / 2))
    ):
        found.append(
            f"speedup {speedup:.2f} > {cap:.3g}, the most that {min(row['workers'], row['tasks'])} task(s) in flight "
            f"on {cores} CPUs permit"
            + (
                f": its tasks took {cheaper:.2f}x the CPU time per task the serial reference assumes, a gain of "
                "where or when they ran (another thread's memory allocator, a faster interpreter or moment of the "
                "machine), not of running at once"
                if cheaper < 1 / (1 + pairing.CAPACITY_SLACK)
                else ""
            )
        )
    # the machine's speed just before each repetition, from its own probe: a cell that ran in a
    # fast stretch cannot claim that stretch as speedup (the sweep's reference is its usual speed)
    per_task_ref = ok["probe_cpu_s"] / ok["probe_tasks"] if "probe_cpu_s" in ok else None
    if per_task_ref is None or per_task_ref.isna().all():
        per_task_ref = pd.Series(base_per_task, index=ok.index)
    accounted = float(np.nanmedian(ok["parallelism"] * per_task_ref / (ok["cpu_s"] / row["tasks"])))
    if np.isfinite(accounted) and speedup > accounted * (1 + ACCOUNTING_SLACK):
        found.append(
            f"speedup {speedup:.2f} > {accounted:.2f} that its CPU accounting allows (parallelism x serial-to-cell "
            "CPU per task): the serial reference was off its CPU part of the time"
        )
    return found


def summary(results: pd.DataFrame, cores: int, cells: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per cell (of ``cells``, default all): medians with bootstrap 95% CIs, spread, noise
    flags and their causes, impossible values. ``results`` holds the baselines' rows too."""
    params = [c for c in results.columns if c.startswith("workload.")]
    # results.csv written before a column existed still groups by the columns it has
    keys = [c for c in ["cell", *SWEPT, EXPECTED, *params] if c in results]
    chosen = results if cells is None else results[results["cell"].isin(set(cells))]
    measured = results[results["status"] == "ok"]
    rows = []
    for key, group in chosen.groupby(keys, dropna=False, sort=False):
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        ok = group[group["status"] == "ok"]
        row["n"] = len(ok)
        row["status"] = "ok" if len(ok) == len(group) else group["status"][group["status"] != "ok"].iloc[0]
        row["errors"] = int(group["errors"].sum()) if "errors" in group else 0
        for measure in MEASURES:
            values = ok[measure].to_numpy(dtype=float) if measure in ok else np.array([])
            row[f"{measure}_median"], row[f"{measure}_ci_low"], row[f"{measure}_ci_high"] = median_with_ci(values)
        wall = ok.sort_values(["round", "rep"])["wall_s"].to_numpy(dtype=float) if "wall_s" in ok else np.array([])
        row["cv"] = float(np.std(wall, ddof=1) / np.mean(wall)) if len(wall) > 1 else np.nan
        load = group["load_1m"].max() if "load_1m" in group else np.nan  # results.csv before load_1m had none
        took = others_share(ok, cores).dropna()
        row["noise"] = noise.column(wall, load, cores, float(took.median()) if len(took) else np.nan)
        row["noisy"] = bool(row["noise"])
        row["noise_cause"] = "; ".join(causes(ok, cores)) if row["noisy"] else ""
        base = measured[measured["cell"] == group["baseline"].iloc[0]] if "baseline" in group else measured.iloc[0:0]
        row["speedup_limit"] = speedup_limit(row, base, cores)
        row["impossible_why"] = "; ".join(impossible(row, ok, base, cores)) if len(ok) else ""
        row["impossible"] = bool(row["impossible_why"])
        # past the limit by less than the slack: the reference's noise, read as the limit, never as more
        # (a serial cell's speedup is its own time over the reference's: about 1 by construction)
        serial = row.get("executor") == "serial"
        row["above_limit"] = bool(not serial and not row["impossible"] and row["speedup_median"] > row["speedup_limit"])
        if "precision" in ok and ok["precision"].notna().any():
            row["precision"] = float(ok["precision"].dropna().iloc[0])
            half = (row["speedup_ci_high"] - row["speedup_ci_low"]) / 2 / row["speedup_median"]
            row["precision_reached"] = half
            row["precision_met"] = bool(half <= row["precision"])
            row["precision_stop"] = str(ok["precision_stop"].dropna().iloc[0]) if "precision_stop" in ok else ""
        row["native_threads_used"] = native_per_task(group)
        in_flight = min(int(group["workers"].iloc[0]), int(group["tasks"].iloc[0]))
        row["oversubscription"] = oversubscription(in_flight, row["native_threads_used"], cores)
        row["oversubscribed"] = bool(row["oversubscription"])
        rows.append(row)
    frame = pd.DataFrame(rows)
    return table_order(frame)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Atomic, as every file the lab writes (runner/files.py)."""
    files.write_text(path, frame.to_csv(index=False))


def aggregate(root: Path) -> pd.DataFrame:
    """Write results.csv, tasks.csv and summary.csv from the cell files under ``root``."""
    sweep = "/".join(root.resolve().parts[-2:])
    records = list(CellStore(root).records())
    if not records and (root / "summary.csv").exists():
        # no cell files (copied without them, or not a lab sweep): the CSVs are all there is
        return pd.read_csv(root / "summary.csv")
    results, tasks = frames(records, sweep)
    env = read_environment(root)
    table = summary(results, cores(env)) if not results.empty else pd.DataFrame()
    if "native_pools" in results and env:  # what the cells found, beside what the sweep started with
        seen = results.dropna(subset=["native_pools"]).groupby("workload")["native_pools"]
        env["native_pools_seen"] = {w: sorted({p for t in v for p in str(t).split("; ") if p}) for w, v in seen}
        write_json(root / "environment.json", env)
    write_csv(results, root / "results.csv")
    write_csv(tasks, root / "tasks.csv")
    write_csv(table, root / "summary.csv")
    return table
