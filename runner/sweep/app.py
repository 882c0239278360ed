"""The Hydra entry point: one job measures one cell (and its serial baseline), and nothing else.

The config becomes a plain dict and a spec (validate.py) before anything else sees it; the cell
is measured or reused (reuse.py) and reported as one progress line (progress.py).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from runner.core import pairing
from runner.files import write_json
from runner.paths import CONF_DIR
from runner.results.cell_store import CellStore
from runner.sweep import config, finishing, progress, spec
from runner.sweep.calibrate import CalibrationFailed, calibrated
from runner.sweep.callbacks import here
from runner.sweep.errors import writing_output
from runner.sweep.reuse import Job, measure_or_reuse
from runner.sweep.validate import build_spec, limits, plain

config.register()


def current_job(hc: Any) -> Job:
    if hc.mode == RunMode.MULTIRUN:
        root = Path(hc.sweep.dir)
        plan_path = root / "plan.json"
        plan = json.loads(plan_path.read_text()) if plan_path.exists() else {}
        jobs = plan.get("jobs", "?")
        last = not isinstance(jobs, int) or hc.job.num + 1 >= jobs
        return Job(root, str(hc.job.num), f"{hc.job.num + 1}/{jobs}", plan.get("session", ""), last=last)
    return Job(Path(hc.runtime.output_dir), "run", "1/1", uuid.uuid4().hex, last=True)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    with writing_output():
        measure_job(cfg)


def measure_job(cfg: DictConfig) -> None:
    finishing.wait_until_ready()  # done already by the callbacks; a no-op in another launcher's process
    resolved = plain(cfg)
    cell_spec = build_spec(resolved)
    hc = HydraConfig.get()
    job = replace(current_job(hc), limits=limits(resolved))
    in_turn = here(hc)  # the jobs run one after another in this process
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
    own = spec.cell_id(base_spec) != spec.cell_id(cell_spec)  # a cell besides its baseline
    # after the baseline comes the job's own cell, or the next job's
    followed = in_turn and (own or not job.last)
    base, base_fresh = measure_or_reuse(store, base_spec, round_, job, failure, followed=followed)
    if own and base_fresh:
        said = f"[{job.label}] baseline serial {cell_spec['workload']['name']}"
        progress.cell_line(progress.summary_line(said, base, base, True, str(job.root)), done=False)
    # the serial probe before each repetition samples the machine's speed (runner/core/pairing.py)
    cell_spec["probe_tasks"] = pairing.probe_tasks(base, cell_spec)
    if own:
        record, fresh = measure_or_reuse(store, cell_spec, round_, job, failure, followed=in_turn and not job.last)
    else:  # the job's cell is the serial baseline, just measured (or found) above
        record, fresh = base, base_fresh
    job_record = {"cell": record["cell"], "round": round_, "overrides": overrides}
    write_json(Path(hc.runtime.output_dir) / "job.json", job_record)
    progress.cell_line(progress.summary_line(f"[{job.label}] {described}", record, base, fresh, str(job.root)))
