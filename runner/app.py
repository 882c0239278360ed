"""The Hydra entry point: one job measures one cell (and its serial baseline).

Hydra is touched here and in the callbacks only; the config becomes a plain dict
before anything else sees it.
"""

from __future__ import annotations

import json
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from runner import config, expect, spec
from runner.cell import write_json
from runner.expr import ExprError
from runner.launch import run_cell
from runner.paths import CONF_DIR
from runner.store import CellStore

config.register()


def plain(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config without Hydra's own node (a sweep-time compose leaves
    hydra.job.num unset, so resolving that node would fail)."""
    return {
        str(key): OmegaConf.to_container(cfg[key], resolve=True) if OmegaConf.is_config(cfg[key]) else cfg[key]
        for key in cfg
        if key != "hydra"
    }


def fail(message: str) -> None:
    """Bad input: one line on stderr, a non-zero exit, no traceback."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def build_spec(cfg: dict[str, Any]) -> dict[str, Any]:
    unknown = config.unknown_keys(cfg)
    if unknown:
        fail(f"{unknown[0]}: unknown key; see `python -m runner --cfg job` for the keys there are")
    try:
        built = spec.build(cfg)
        # a shared YAML's expressions are refused here, before any cell runs; any param_*
        # name passes, as other jobs of the sweep may have the parameter
        expect.parse(cfg.get("expect") or [], None)
    except (spec.SpecError, ExprError) as exc:
        fail(str(exc))
        raise  # unreachable; fail() exits
    return built


def measure(store: CellStore, cell_spec: dict[str, Any], round_: int, job: str) -> tuple[dict[str, Any], bool]:
    """The stored record of a cell, measuring it first unless this directory has it."""
    cell = spec.cell_id(cell_spec)
    record = store.get(cell, round_)
    if record is not None and record["result"]["status"] == "ok":
        return record, False
    started = datetime.now(UTC).isoformat(timespec="seconds")
    result = run_cell(cell_spec, store.workdir(cell, round_))
    record = {
        "cell": cell,
        "round": round_,
        "baseline": spec.cell_id(spec.baseline(cell_spec)),
        "spec": cell_spec,
        "result": result,
        "job": job,
        "started": started,
    }
    store.put(record)
    return record, True


def counted_medians(record: dict[str, Any]) -> tuple[float, float] | None:
    reps = [r for r in record["result"]["reps"] if not r["warmup"]]
    if record["result"]["status"] != "ok" or not reps:
        return None
    wall = statistics.median(r["wall_s"] for r in reps)
    cpu = statistics.median(sum(t[5] for t in r["tasks"]) / r["wall_s"] for r in reps)
    return wall, cpu


def progress_line(prefix: str, record: dict[str, Any], base: dict[str, Any], fresh: bool) -> str:
    result = record["result"]
    medians, base_medians = counted_medians(record), counted_medians(base)
    if medians is None:
        return f"{prefix}  {result['status'].upper()}: {result['message']}"
    wall, par = medians
    speedup = f"{base_medians[0] / wall:5.2f}x" if base_medians else "   n/a"
    how = "" if fresh else "  (already measured)"
    return f"{prefix}  wall {wall:8.4f} s  speedup {speedup}  parallelism {par:5.2f}{how}"


def root_and_job(hc: Any) -> tuple[Path, str, str]:
    """The run or sweep root, this job's name in it, and the 'i/N' label."""
    if hc.mode == RunMode.MULTIRUN:
        root = Path(hc.sweep.dir)
        plan = root / "plan.json"
        total = json.loads(plan.read_text())["jobs"] if plan.exists() else "?"
        return root, str(hc.job.num), f"{hc.job.num + 1}/{total}"
    return Path(hc.runtime.output_dir), "run", "1/1"


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    resolved = plain(cfg)
    cell_spec = build_spec(resolved)
    hc = HydraConfig.get()
    root, job, label = root_and_job(hc)
    store = CellStore(root)
    round_ = resolved["round"]
    overrides = [o for o in hc.overrides.task if not o.startswith("round=") or resolved["rounds"] > 1]
    base_spec = spec.baseline(cell_spec)
    base, base_fresh = measure(store, base_spec, round_, job)
    if spec.cell_id(base_spec) != spec.cell_id(cell_spec) and base_fresh:
        print(progress_line(f"[{label}] baseline serial {cell_spec['workload']['name']}", base, base, True), flush=True)
    record, fresh = measure(store, cell_spec, round_, job)
    write_json(
        Path(hc.runtime.output_dir) / "job.json", {"cell": record["cell"], "round": round_, "overrides": overrides}
    )
    print(progress_line(f"[{label}] {' '.join(overrides) or 'defaults'}", record, base, fresh), flush=True)
