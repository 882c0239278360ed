"""``calibrate=true``: size a workload so one serial repetition lasts about ``target_s``.

The scale is found once per workload config in a sweep directory, stored in
``calibration/<key>.json``, and reused by every cell of that workload, so all its
cells measure the same work.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from pathlib import Path
from typing import Any

import workloads
from runner import files
from runner.files import write_json
from runner.sweep import spec as specs
from runner.sweep.launch import Limits, run_cell

PROBES = 2  # a second probe corrects for per-task overhead that does not scale


class CalibrationFailed(RuntimeError):
    """The serial probe did not complete; the cell is recorded as failed with this message."""


def _size(workload: dict[str, Any]) -> tuple[str, float]:
    ref = workloads.target(workload["name"])
    name = workloads.size_parameter(ref)
    if name is None:
        raise specs.SpecError(f"calibrate: workload {workload['name']!r} declares no size parameter (SIZE) to scale")
    default = inspect.signature(workloads.load(ref)).parameters[name].default
    return name, workload["params"].get(name, default)


def _key(cell_spec: dict[str, Any], target_s: float) -> str:
    identity = {"workload": cell_spec["workload"], "seed": cell_spec["seed"], "target_s": target_s}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]


def _record_path(cell_spec: dict[str, Any], root: Path, target_s: float) -> Path:
    return root / "calibration" / f"{_key(cell_spec, target_s)}.json"


def _scaled(cell_spec: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    workload = cell_spec["workload"]
    return {**cell_spec, "workload": {**workload, "params": {**workload["params"], name: value}}}


def calibrated(cell_spec: dict[str, Any], root: Path, target_s: float, limits: Limits | None = None) -> dict[str, Any]:
    """``cell_spec`` with its workload's size scaled to ``target_s``, probing once per directory."""
    path = _record_path(cell_spec, root, target_s)
    if os.path.lexists(path):
        return _scaled(cell_spec, *_read(root, path))
    name, value = _size(cell_spec["workload"])
    record = {"workload": cell_spec["workload"]["name"], "param": name, "original": value, "target_s": target_s}
    probe = {**specs.baseline(cell_spec), "repeats": 1, "warmup": 1}
    for attempt in range(PROBES):
        probe = _scaled(probe, name, value)
        result = run_cell(probe, path.with_suffix("") / f"probe{attempt}", limits)
        if result["status"] != "ok":
            raise CalibrationFailed(f"calibration probe {result['status']}: {result['message']}")
        wall = result["reps"][-1]["wall_s"]
        scaled = value * target_s / wall
        value = max(1, round(scaled)) if isinstance(value, int) else scaled
    record.update(calibrated=value, probe_wall_s=wall)
    write_json(path, record)
    return _scaled(cell_spec, name, value)


def recorded(cell_spec: dict[str, Any], root: Path, target_s: float) -> dict[str, Any]:
    """``cell_spec`` as ``calibrated`` makes it where ``root`` holds its calibration already,
    else as it is: what a cell of a resumed sweep is stored as, known without probing."""
    path = _record_path(cell_spec, root, target_s)
    return _scaled(cell_spec, *_read(root, path)) if os.path.lexists(path) else cell_spec


def _read(root: Path, path: Path) -> tuple[str, int | float]:
    """A calibration record's parameter and size; SpecError naming the file where it holds none
    (a received directory's record is read before any cell)."""
    files.own(root, path, specs.SpecError)
    try:
        record = json.loads(path.read_text()) if path.is_file() else None  # not a FIFO, which would block
    except (OSError, ValueError):
        record = None
    param, value = (record.get("param"), record.get("calibrated")) if isinstance(record, dict) else (None, None)
    if not isinstance(param, str) or isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise specs.SpecError(
            f"{path}: not a calibration record (param, and a calibrated size above 0); allowed: one that "
            "calibrate=true wrote, or none (delete it to calibrate again)"
        )
    return param, value
