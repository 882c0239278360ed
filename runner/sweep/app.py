"""The Hydra entry point: one job measures one cell (and its serial baseline).

Hydra is touched here and in the callbacks only; the config becomes a plain dict
before anything else sees it.
"""

from __future__ import annotations

import errno
import json
import statistics
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from runner.claims import expectations as expect
from runner.claims.expression import ExprError
from runner.core import pairing
from runner.files import write_json
from runner.paths import CONF_DIR
from runner.results.cell_store import CellStore
from runner.sweep import config, progress, spec
from runner.sweep.calibrate import CalibrationFailed, calibrated
from runner.sweep.launch import Limits, run_cell

config.register()


def plain(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config without Hydra's own node (a sweep-time compose leaves
    hydra.job.num unset, so resolving that node would fail)."""
    return {
        str(key): OmegaConf.to_container(cfg[key], resolve=True) if OmegaConf.is_config(cfg[key]) else cfg[key]
        for key in cfg
        if key != "hydra"
    }


# A full disk, a quota, a read-only or forbidden directory: the user's to fix, not a bug.
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOENT}


def fail(message: str, code: int = 2) -> NoReturn:
    """Bad input: one line on stderr, a non-zero exit, no traceback.

    SystemExit, unlike an exception, also stops Hydra's launcher from running the
    remaining jobs, and passes through Hydra's callback error handling.
    """
    progress.SweepProgress.stop()
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


@contextmanager
def writing_output() -> Iterator[None]:
    """Turn a failed write into one line; the files written so far are whole (atomic)."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in WRITE_ERRNOS:
            raise
        fail(f"output: cannot write {exc.filename or 'a file'}: {exc.strerror}", code=1)


def build_spec(cfg: dict[str, Any]) -> dict[str, Any]:
    unknown = config.unknown_key(cfg)
    if unknown:
        fail(unknown)
    try:
        built = spec.build(cfg)
        limits(cfg)
        # a shared YAML's expressions are refused here, before any cell runs; any param_*
        # name passes, as other jobs of the sweep may have the parameter
        expect.parse(cfg.get("expect") or [], None)
    except (spec.SpecError, ExprError) as exc:
        fail(str(exc))
    return built


def limits(cfg: dict[str, Any]) -> Limits:
    """The cell's memory and process limits; SpecError names a bad one."""
    memory = cfg.get("memory_mb")
    return Limits(
        None if memory is None else spec._positive("memory_mb", memory),
        spec._check_int("max_procs", cfg.get("max_procs", Limits.max_procs), 1),
    )


def measure(
    store: CellStore, cell_spec: dict[str, Any], round_: int, job: Job, failure: dict[str, Any] | None = None
) -> tuple[dict[str, Any], bool]:
    """The stored record of a cell, measuring it first unless this directory has it.

    A cell that failed in an earlier session is measured again (resume); one that
    failed in this session is not, so a broken baseline costs its timeout once.
    ``failure`` records a result without measuring (a calibration that failed).
    """
    cell = spec.cell_id(cell_spec)
    record = store.get(cell, round_)
    if record is not None and (record["result"]["status"] == "ok" or record.get("session") == job.session):
        return record, False
    if record is not None:
        store.retire(record)  # a failed attempt is kept, not overwritten
    started = datetime.now(UTC).isoformat(timespec="seconds")
    result = failure or run_cell(cell_spec, store.workdir(cell, round_), job.limits)
    record = {
        "cell": cell,
        "round": round_,
        "baseline": spec.cell_id(spec.baseline(cell_spec)),
        "spec": cell_spec,
        "result": result,
        "job": job.name,
        "session": job.session,
        "started": started,
    }
    store.put(record)
    return record, True


def counted(record: dict[str, Any]) -> list[dict[str, Any]]:
    if record["result"]["status"] != "ok":
        return []
    return [r for r in record["result"]["reps"] if not r["warmup"]]


def progress_line(prefix: str, record: dict[str, Any], base: dict[str, Any], fresh: bool) -> str:
    result = record["result"]
    reps = counted(record)
    if not reps:
        return f"{prefix}  {result['status'].upper()}: {result['message']}"
    wall = statistics.median(r["wall_s"] for r in reps)
    par = statistics.median(sum(t[5] for t in r["tasks"]) / r["wall_s"] for r in reps)
    pool = [t for t in (pairing.per_task(r.get("probe")) for r in reps) if t is not None]
    paired = [s for s in pairing.speedups(reps, counted(base), pool) if s is not None]
    speedup = f"{statistics.median(paired):5.2f}x" if paired else "   n/a"
    how = "" if fresh else "  (already measured)"
    return f"{prefix}  wall {wall:8.4f} s  speedup {speedup}  parallelism {par:5.2f}{how}"


@dataclass(frozen=True)
class Job:
    """Where a Hydra job measures, and how it calls itself in progress lines."""

    root: Path  # the run or sweep directory
    name: str
    label: str  # "i/N"
    session: str  # one per invocation: a cell that failed in this session is not retried in it
    limits: Limits = field(default_factory=Limits)


def current_job(hc: Any) -> Job:
    if hc.mode == RunMode.MULTIRUN:
        root = Path(hc.sweep.dir)
        plan_path = root / "plan.json"
        plan = json.loads(plan_path.read_text()) if plan_path.exists() else {}
        label = f"{hc.job.num + 1}/{plan.get('jobs', '?')}"
        return Job(root, str(hc.job.num), label, plan.get("session", ""))
    return Job(Path(hc.runtime.output_dir), "run", "1/1", uuid.uuid4().hex)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    with writing_output():
        measure_job(cfg)


def measure_job(cfg: DictConfig) -> None:
    resolved = plain(cfg)
    cell_spec = build_spec(resolved)
    hc = HydraConfig.get()
    job = replace(current_job(hc), limits=limits(resolved))
    store = CellStore(job.root)
    round_ = resolved["round"]
    failure = None
    if resolved["calibrate"]:
        try:
            cell_spec = calibrated(cell_spec, job.root, resolved["target_s"], job.limits)
        except CalibrationFailed as exc:
            failure = {"status": "error", "message": str(exc), "reps": []}
    overrides = [o for o in hc.overrides.task if not o.startswith("round=") or resolved["rounds"] > 1]
    described = " ".join(overrides) or "defaults"
    progress.cell_started(described)
    base_spec = spec.baseline(cell_spec)
    base, base_fresh = measure(store, base_spec, round_, job, failure)
    if spec.cell_id(base_spec) != spec.cell_id(cell_spec) and base_fresh:
        line = progress_line(f"[{job.label}] baseline serial {cell_spec['workload']['name']}", base, base, True)
        progress.cell_line(line, done=False)
    # the serial probe before each repetition samples the machine's speed (runner/pairing.py)
    cell_spec["probe_tasks"] = pairing.probe_tasks(base, cell_spec["pair_s"])
    record, fresh = measure(store, cell_spec, round_, job, failure)
    job_record = {"cell": record["cell"], "round": round_, "overrides": overrides}
    write_json(Path(hc.runtime.output_dir) / "job.json", job_record)
    progress.cell_line(progress_line(f"[{job.label}] {described}", record, base, fresh))
