"""From the cell files of a run or sweep to the tidy CSVs (the contract in DESIGN.md)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from runner.cell import write_json
from runner.environment import SCHEMA_VERSION, cores, read_environment
from runner.store import CellStore

NOISY_CV = 0.10
SLOW_FIRST = 1.5
SWEPT = [
    "workload", "executor", "start_method", "workers", "python", "implementation", "free_threaded", "gil",
    "switch_interval", "native_threads", "tasks", "fail_rate",
]  # fmt: skip
# Not an axis but the count a complete cell has: the report marks cells with fewer rows.
EXPECTED = "repeats"
MEASURES = ["wall_s", "speedup", "parallelism"]
# The fixed columns of results.csv, in order; workload parameters and metrics follow.
RESULT_COLUMNS = [
    "schema", "sweep", "cell", "baseline", "round", "workload", "executor", "start_method", "workers",
    "python", "implementation", "free_threaded", "gil", "switch_interval", "native_threads", "tasks", "fail_rate",
    "rep", "wall_s", "startup_s", "cpu_s", "process_cpu_s", "outside_cpu_share", "parallelism", "speedup",
    "efficiency", "throughput", "peak_rss_mb", "errors", "load_1m", "status", "message",
]  # fmt: skip


def _rows(record: dict[str, Any], sweep: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    spec, result = record["spec"], record["result"]
    interp = result.get("interpreter", {})
    workload = spec["workload"]
    common = {
        "schema": SCHEMA_VERSION,
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
    counted = [r for r in result["reps"] if not r["warmup"]]
    if not counted:  # a failed cell still leaves one row that says why
        return [{**common, "rep": None, "status": result["status"], "message": result["message"]}], []
    results: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    for rep in counted:
        cpu = sum(t[5] for t in rep["tasks"])
        # every thread of every process that ran tasks; cells measured before it existed have task CPU only
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
                "parallelism": (process_cpu if process_cpu is not None else cpu) / rep["wall_s"],
                "task_parallelism": cpu / rep["wall_s"],
                "native_pools": rep.get("native_pools"),
                "native_threads_seen": rep.get("native_threads_seen"),
                "os_threads": rep.get("os_threads"),
                "throughput": workload["tasks"] / rep["wall_s"],
                "peak_rss_mb": rep["peak_rss_mb"],
                "errors": sum(not t[6] for t in rep["tasks"]),
                "status": result["status"],
                "message": result["message"],
                **rep.get("metrics", {}),
            }
        )
        tasks.extend(
            {
                "cell": record["cell"],
                "round": record["round"],
                "rep": rep["rep"] - spec["warmup"],
                "task": t[0],
                "worker": f"{t[1]}/{t[2]}",
                "pid": t[1],
                "start_s": t[3],
                "end_s": t[4],
                "cpu_s": t[5],
                "ok": t[6],
                "error": t[7],
            }
            for t in rep["tasks"]
        )
    return results, tasks


def frames(records: Iterable[dict[str, Any]], sweep: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    results: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    for record in records:
        r, t = _rows(record, sweep)
        results.extend(r)
        tasks.extend(t)
    res = pd.DataFrame(results)
    if res.empty:
        return res, pd.DataFrame(tasks)
    # Speedup is against the median wall time of the serial baseline, pooled over rounds.
    res = res.reindex(columns=[*RESULT_COLUMNS, *(c for c in res.columns if c not in RESULT_COLUMNS)])
    base_wall = res.groupby("cell")["wall_s"].median()
    res["speedup"] = res["baseline"].map(base_wall) / res["wall_s"]
    res["efficiency"] = res["speedup"] / res["workers"]
    return res, pd.DataFrame(tasks)


def _median_ci(values: np.ndarray) -> tuple[float, float, float]:
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return (np.nan, np.nan, np.nan)
    median = float(np.median(values))
    if len(values) < 2 or np.ptp(values) == 0:
        return (median, median, median)
    from scipy import stats  # here: scipy.stats takes longer to import than a report takes to load

    ci = stats.bootstrap(
        (values,), np.median, confidence_level=0.95, n_resamples=999, method="percentile", random_state=0
    ).confidence_interval
    return (median, float(ci.low), float(ci.high))


def noise(wall: np.ndarray, load: float, cores: int) -> list[str]:
    """Why a cell's numbers deserve less trust (hyperfine's and pyperf's warnings)."""
    reasons = []
    if len(wall) > 1 and np.std(wall, ddof=1) / np.mean(wall) > NOISY_CV:
        reasons.append(f"cv {np.std(wall, ddof=1) / np.mean(wall):.0%} > {NOISY_CV:.0%}")
    if pd.notna(load) and load > cores:
        reasons.append(f"load {load:.1f} > {cores} cores")
    if len(wall) >= 3 and wall[0] > SLOW_FIRST * np.median(wall[1:]):
        reasons.append(f"first repetition {wall[0] / np.median(wall[1:]):.1f}x the rest")
    return reasons


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


def summary(results: pd.DataFrame, cores: int) -> pd.DataFrame:
    """One row per cell: medians with bootstrap 95% CIs, spread and a noise flag."""
    params = [c for c in results.columns if c.startswith("workload.")]
    # results.csv written before EXPECTED existed lacks it; the summary does without
    # results.csv from before a column existed still groups by the columns it has
    keys = [c for c in ["cell", *SWEPT, EXPECTED, *params] if c in results]
    rows = []
    for key, group in results.groupby(keys, dropna=False, sort=False):
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        ok = group[group["status"] == "ok"]
        row["n"] = len(ok)
        row["status"] = "ok" if len(ok) == len(group) else group["status"][group["status"] != "ok"].iloc[0]
        row["errors"] = int(group["errors"].sum()) if "errors" in group else 0
        for measure in MEASURES:
            values = ok[measure].to_numpy(dtype=float) if measure in ok else np.array([])
            row[f"{measure}_median"], row[f"{measure}_ci_low"], row[f"{measure}_ci_high"] = _median_ci(values)
        wall = ok.sort_values(["round", "rep"])["wall_s"].to_numpy(dtype=float) if "wall_s" in ok else np.array([])
        row["cv"] = float(np.std(wall, ddof=1) / np.mean(wall)) if len(wall) > 1 else np.nan
        load = group["load_1m"].max() if "load_1m" in group else np.nan  # results.csv before load_1m had none
        row["noise"] = "; ".join(noise(wall, load, cores))
        row["noisy"] = bool(row["noise"])
        row["native_threads_used"] = native_per_task(group)
        in_flight = min(int(group["workers"].iloc[0]), int(group["tasks"].iloc[0]))
        row["oversubscription"] = oversubscription(in_flight, row["native_threads_used"], cores)
        row["oversubscribed"] = bool(row["oversubscription"])
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.sort_values(["workload", "executor", "start_method", "workers"], kind="stable")


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Atomic: a crash leaves the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        frame.to_csv(tmp, index=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


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
