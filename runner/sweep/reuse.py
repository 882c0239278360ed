"""Measure or reuse: a cell's stored record, measured first only where the directory lacks it.

Resume is this lookup: a sweep run again in its directory measures only the cells it lacks
or that failed in an earlier session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.results.cell_store import CellStore
from runner.sweep import launch, spec
from runner.sweep.launch import Limits, run_cell


@dataclass(frozen=True)
class Job:
    """Where a Hydra job measures, and how it calls itself in progress lines."""

    root: Path  # the run or sweep directory
    name: str
    label: str  # "i/N"
    session: str  # one per invocation: a cell that failed in this session is not retried in it
    limits: Limits = field(default_factory=Limits)
    last: bool = True  # no job of this sweep comes after it (none may need a cell's interpreter)


def measure_or_reuse(
    store: CellStore,
    cell_spec: dict[str, Any],
    round_: int,
    job: Job,
    failure: dict[str, Any] | None = None,
    *,
    followed: bool = False,
) -> tuple[dict[str, Any], bool]:
    """The stored record of a cell, measuring it first unless this directory has it.

    A cell that failed in an earlier session is measured again (resume); one that
    failed in this session is not, so a broken baseline costs its timeout once.
    ``failure`` records a result without measuring (a calibration that failed).
    ``followed``: another cell may be measured after this one, so its interpreter is
    started as soon as this cell ends, while its record is written and the next job set up.
    """
    cell = spec.cell_id(cell_spec)
    record = store.get(cell, round_)
    if record is not None and (record["result"]["status"] == "ok" or record.get("session") == job.session):
        return record, False
    if record is not None:
        store.retire(cell, round_)  # a failed attempt is kept, not overwritten
    started = datetime.now(UTC).isoformat(timespec="seconds")
    result = failure or run_cell(cell_spec, store.workdir(cell, round_), job.limits)
    if followed:
        launch.start_next(cell_spec)
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
