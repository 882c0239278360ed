"""Hydra launchers: jobs in other processes still aggregate from files; side-by-side ones are flagged."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import lab, sweep

pytestmark = pytest.mark.slow
QUICK = ["workload=sleep", "workload.tasks=4", "workload.params.seconds=0.005", "repeats=2", "warmup=0", "report=false"]


def test_submitit_local_jobs_aggregate_into_one_results_file(tmp_path: Path) -> None:
    root, proc = sweep(
        tmp_path,
        "hydra/launcher=submitit_local",
        *QUICK,
        "executor=thread,process",
        "workers=1,2",
    )
    results = pd.read_csv(root / "results.csv")
    assert set(results["status"]) == {"ok"}
    assert len(results.drop_duplicates("cell")) == 5  # four cells and their serial baseline
    assert (root / ".submitit").is_dir()  # the jobs really ran through submitit
    assert "runs cells side by side" in proc.stderr
    assert json.loads((root / "environment.json").read_text())["concurrent_launcher"] is True


def test_joblib_is_flagged_and_spawn_and_forkserver_still_work(tmp_path: Path) -> None:
    root, proc = sweep(
        tmp_path,
        "hydra/launcher=joblib",
        *QUICK,
        "executor=process",
        "start_method=spawn,forkserver",
        "workers=2",
    )
    assert "warning: JoblibLauncher runs cells side by side" in proc.stderr
    env = json.loads((root / "environment.json").read_text())
    assert env["concurrent_launcher"] is True and "joblib" in env["sessions"][0]["launcher"]
    summary = pd.read_csv(root / "summary.csv")
    assert set(summary["status"]) == {"ok"}
    assert {"spawn", "forkserver"} <= set(summary["start_method"].dropna())


def test_the_basic_launcher_is_not_flagged(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    proc = lab("-m", *QUICK, "executor=serial", f"hydra.sweep.dir={root}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "side by side" not in proc.stderr
    assert json.loads((root / "environment.json").read_text())["concurrent_launcher"] is False
