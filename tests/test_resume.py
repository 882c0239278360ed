"""Resume, rounds and calibration: what a rerun into the same directory measures."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from runner.results.cell_store import CellStore
from tests.conftest import cell_spec, lab, sweep

pytestmark = pytest.mark.slow
QUICK = [
    "workload=sleep",
    "workload.tasks=4",
    "workload.params.seconds=0.002",
    "repeats=2",
    "warmup=0",
    "executor=thread",
    "report=false",  # what is checked is what was measured, not how it is drawn
]


def measured_cells(root: Path) -> dict[str, float]:
    return {p.name: p.stat().st_mtime_ns for p in (root / "cells").glob("*.json")}


def test_a_resumed_sweep_measures_exactly_the_missing_cells(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    first = lab("-m", *QUICK, "workers=1,2", f"hydra.sweep.dir={root}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = measured_cells(root)
    assert len(before) == 3  # serial baseline + two thread cells

    removed = sorted(before)[0]
    (root / "cells" / removed).unlink()
    again = lab("-m", *QUICK, "workers=1,2,4", f"hydra.sweep.dir={root}", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    after = measured_cells(root)
    remeasured = {name for name in after if after[name] != before.get(name)}
    assert len(after) == 4
    assert removed in remeasured and len(remeasured) == 2  # the deleted cell and the new workers=4 cell
    results = pd.read_csv(root / "results.csv")
    assert not results.duplicated(["cell", "round", "rep"]).any()
    assert len(results) == 4 * 2
    sessions = json.loads((root / "environment.json").read_text())["sessions"]
    assert len(sessions) == 2 and "workers=1,2,4" in sessions[1]["command"]


def every_file(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_sweep_that_would_replace_the_records_of_other_cells_is_refused(tmp_path: Path) -> None:
    """Hydra's records of a sweep (multirun.yaml, 0/, 1/) describe its cells; a resume
    rewrites them, so it must measure every cell the directory holds, or replay and the
    report would lose the others."""
    root = tmp_path / "sweep"
    assert lab("-m", *QUICK, "workers=1,2", f"hydra.sweep.dir={root}", cwd=tmp_path).returncode == 0
    before = every_file(root)
    other = lab("-m", *QUICK, "workers=4", f"hydra.sweep.dir={root}", cwd=tmp_path)
    assert other.returncode == 2 and other.stderr.count("\n") == 1 and "Traceback" not in other.stderr
    assert other.stderr.startswith(f"error: {root}: holds cells this sweep would not measure, e.g. workload=sleep")
    assert "executor=thread workers=" in other.stderr and "or a new directory" in other.stderr
    assert every_file(root) == before
    single = lab(*QUICK, "workers=4", f"hydra.run.dir={root}", cwd=tmp_path)  # nor may a single run
    assert single.returncode == 2 and "holds cells this sweep would not measure" in single.stderr
    assert every_file(root) == before


def test_a_cell_record_that_is_not_one_is_named_not_read_forever(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    assert lab("-m", *QUICK, f"hydra.sweep.dir={root}", cwd=tmp_path).returncode == 0
    (root / "cells" / "list.json").write_text("[1]")
    os.mkfifo(root / "cells" / "fifo.json")  # a read would wait for a writer
    before = every_file(root)
    proc = lab("-m", *QUICK, f"hydra.sweep.dir={root}", cwd=tmp_path, timeout=60)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1
    assert "holds cells this sweep would not measure, e.g. fifo.json, not a cell record" in proc.stderr
    assert every_file(root) == before


def test_a_calibrated_cell_is_known_by_both_its_sizes(tmp_path: Path) -> None:
    """A calibration that failed stores the cell as planned; once one succeeds, as sized: a resume
    accepts both records, and a damaged calibration record is refused in one line, naming it."""
    from runner.sweep import calibrate
    from runner.sweep.callbacks import Planned, stored_in
    from runner.sweep.spec import SpecError, baseline, cell_id

    planned = cell_spec(executor={"name": "thread", "options": {}}, workers=2)
    sized = {**planned, "workload": {**planned["workload"], "params": {"n": 5000}}}
    record = calibrate._record_path(planned, tmp_path, 0.1)
    record.parent.mkdir()
    record.write_text(json.dumps({"workload": "cpu", "param": "n", "original": 2000, "calibrated": 5000}))
    stored = stored_in(tmp_path, [Planned(planned, 0, 0.1)])
    assert stored == {(cell_id(s), 0) for s in (planned, baseline(planned), sized, baseline(sized))}
    record.write_text("{}")
    with pytest.raises(SpecError, match=r"calibration/.*\.json: not a calibration record"):
        stored_in(tmp_path, [Planned(planned, 0, 0.1)])


def test_failed_cells_are_measured_again_and_the_failure_is_kept(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    slow = [*QUICK, "workload.params.seconds=0.5", "workers=4"]
    first = lab("-m", *slow, "timeout_s=0.5", f"hydra.sweep.dir={root}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert set(pd.read_csv(root / "summary.csv")["status"]) == {"timeout"}
    second = lab("-m", *slow, "timeout_s=60", f"hydra.sweep.dir={root}", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert set(pd.read_csv(root / "summary.csv")["status"]) == {"ok"}
    kept = [json.loads(p.read_text()) for p in (root / "cells" / "history").glob("*.json")]
    assert sorted(r["result"]["status"] for r in kept) == ["timeout", "timeout"]


def test_a_failed_record_is_moved_aside_by_the_cell_asked_for_not_by_what_it_says(tmp_path: Path) -> None:
    victim = tmp_path / "victim.json"
    victim.write_text('{"mine": 1}')
    store = CellStore(tmp_path / "sweep")
    # a received record that names a cell and round outside the directory
    store.put({"cell": "c", "round": 0, "result": {"status": "error"}})
    path = store.path("c", 0)
    path.write_text(json.dumps({"cell": "x", "round": f"/../../../{victim.with_suffix('')}", "result": {}}))
    store.retire("c", 0)
    assert victim.read_text() == '{"mine": 1}' and not path.exists()
    assert [p.name for p in (store.cells / "history").iterdir()] == ["c-r0.0.json"]


def test_a_failed_baseline_is_not_retried_within_one_sweep(tmp_path: Path) -> None:
    root, proc = sweep(
        tmp_path,
        *QUICK,
        "workload.params.seconds=0.4",
        "workers=2,4,8",
        "timeout_s=1",
    )
    assert proc.stdout.count("baseline serial sleep  TIMEOUT") == 1
    assert not (root / "cells" / "history").exists()


def test_a_directory_holding_other_files_is_not_swept_into(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "results.csv").write_text("a,b\n1,2\n")
    (mine / "report.html").write_text("mine")
    proc = lab("-m", *QUICK, f"hydra.sweep.dir={mine}", cwd=tmp_path)
    assert proc.returncode == 2 and "holds report.html, which a sweep would overwrite" in proc.stderr, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and (mine / "report.html").read_text() == "mine"
    assert sorted(p.name for p in mine.iterdir()) == ["report.html", "results.csv"]
    # a file no sweep writes is no clash: the sweep goes in beside it
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    (prepared / ".gitignore").write_text("*\n")
    assert lab("-m", *QUICK, f"hydra.sweep.dir={prepared}", cwd=tmp_path).returncode == 0
    assert (prepared / ".gitignore").read_text() == "*\n" and (prepared / "results.csv").exists()


def test_resume_false_refuses_a_used_directory(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    assert lab("-m", *QUICK, f"hydra.sweep.dir={root}", cwd=tmp_path).returncode == 0
    before = measured_cells(root)
    proc = lab("-m", *QUICK, "resume=false", f"hydra.sweep.dir={root}", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: resume:") and "Traceback" not in proc.stderr
    assert measured_cells(root) == before


def test_rounds_interleave_whole_passes_and_pool_in_the_summary(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    proc = lab("-m", *QUICK, "workers=1,2", "rounds=2", f"hydra.sweep.dir={root}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads((root / "plan.json").read_text())
    assert [job[0] for job in plan["overrides"]] == ["round=0", "round=0", "round=1", "round=1"]
    results = pd.read_csv(root / "results.csv")
    assert sorted(results["round"].unique()) == [0, 1]
    summary = pd.read_csv(root / "summary.csv")
    assert len(summary) == 3 and set(summary["n"]) == {4}  # two rounds of two repetitions, pooled


@pytest.mark.alone
def test_calibration_sizes_the_workload_once_for_every_cell(tmp_path: Path) -> None:
    args = [
        "workload=cpu", "workload.tasks=8", "repeats=2", "warmup=1", "executor=thread", "workers=1,2", "calibrate=true",
        "target_s=0.1", "report=false",
    ]  # fmt: skip
    root, _proc = sweep(tmp_path, *args)
    (calibration,) = [json.loads(p.read_text()) for p in (root / "calibration").glob("*.json")]
    assert calibration["param"] == "n" and calibration["original"] == 200_000
    results = pd.read_csv(root / "results.csv")
    assert set(results["workload.n"]) == {calibration["calibrated"]}
    serial = results[results["executor"] == "serial"]["wall_s"].median()
    assert 0.03 < serial < 0.3  # about target_s, with room for a shared machine
    # a resume knows the calibrated cells it stored, so it measures none of them again
    before = measured_cells(root)
    again = lab("-m", *args, f"hydra.sweep.dir={root}", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert measured_cells(root) == before
