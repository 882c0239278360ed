"""End to end: `python -m runner` and `python -m runner -m` as a user runs them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from omegaconf import OmegaConf

from runner.core import pairing
from runner.paths import PROJECT_ROOT
from runner.sweep import composed, progress
from tests.conftest import busy_of_free, lab, sweep

pytestmark = pytest.mark.slow


def test_single_run_measures_the_cell_and_its_baseline(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = lab(
        "workload=sleep",
        "workload.tasks=8",
        "workload.params.seconds=0.01",
        "workers=4",
        "repeats=2",
        "warmup=0",
        f"hydra.run.dir={out}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    summary = pd.read_csv(out / "summary.csv")
    assert sorted(summary["executor"]) == ["serial", "thread"]
    assert "speedup" in proc.stdout and str(out) in proc.stdout
    assert (out / ".hydra" / "overrides.yaml").exists()
    assert (out / "plots" / "speedup.png").stat().st_size > 0


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("sweep")
    root = tmp / "sweep"
    proc = lab(
        "-m",
        "executor=thread,process",
        "workers=1,2",
        "start_method=fork,spawn",
        "workload.tasks=6",
        "repeats=2",
        "warmup=1",
        "workload.params.seconds=0.02",
        "workload=sleep",
        f"hydra.sweep.dir={root}",
        cwd=tmp,
    )
    assert proc.returncode == 0, proc.stderr
    return root, proc.stdout


def test_sweep_writes_the_tidy_files(small_sweep: tuple[Path, str]) -> None:
    root, _ = small_sweep
    for name in (
        "results.csv",
        "tasks.csv",
        "summary.csv",
        "environment.json",
        "multirun.yaml",
        "plots/speedup.png",
        "plots/concurrency_parallelism.png",
    ):
        assert (root / name).stat().st_size > 0, name
    results = pd.read_csv(root / "results.csv")
    summary = pd.read_csv(root / "summary.csv")
    tasks = pd.read_csv(root / "tasks.csv")
    # thread x 2 workers (start_method blanked) + process x 2 workers x 2 methods + the serial baseline
    assert len(summary) == 2 + 4 + 1
    assert len(results) == 2 * len(summary)
    assert len(tasks) == 6 * len(results)
    assert set(results["status"]) == {"ok"}
    assert set(results[results["executor"] == "thread"]["start_method"].fillna("")) == {""}
    env = json.loads((root / "environment.json").read_text())
    assert env["cpu_count"] >= 1 and env["load_before"] and env["load_after"]
    assert "executor=thread,process" in env["command"]


def test_sweep_prints_a_line_per_job_then_a_summary(small_sweep: tuple[Path, str]) -> None:
    root, stdout = small_sweep
    jobs = re.findall(r"^\[(\d+)/(\d+)\] (?!baseline)", stdout, flags=re.M)
    assert [int(i) for i, _ in jobs] == list(range(1, 9))
    assert {n for _, n in jobs} == {"8"}
    assert "already measured" in stdout  # thread cells swept over two start methods run once
    assert f"results: {root}\n" in stdout
    assert stdout.rstrip().endswith(str(root / "report.html"))


def test_a_job_whose_cell_is_the_baseline_is_measured_once_and_said_fresh(tmp_path: Path) -> None:
    proc = lab("-m", "workload=tiny", "executor=serial", "workers=1", f"hydra.sweep.dir={tmp_path / 's'}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("[")]
    assert len(lines) == 1 and lines[0].startswith("[1/1] ") and "already measured" not in lines[0], proc.stdout


def _record(cell: str, workers: int, reps: list[dict[str, Any]]) -> dict[str, Any]:
    """A cell record as a sweep stores it, of a workload whose baseline is cell "base"."""
    return {
        "cell": cell,
        "round": 0,
        "baseline": "base",
        "spec": {
            "executor": {"name": "serial" if cell == "base" else "thread"},
            "workers": workers,
            "workload": {"tasks": 4},
        },
        "result": {"status": "ok", "message": "", "reps": reps},
    }


def _rep(wall_s: float, tasks: int = 4, probe_cpu_s: float | None = None) -> dict[str, Any]:
    """A repetition of ``tasks`` tasks, each 0.1 s on a CPU (task, pid, thread, start, end, CPU, ok,
    error: as stored), with a probe of its first task where ``probe_cpu_s`` is given."""
    ran = [[i, 1, 1, 0.1 * i, 0.1 * (i + 1), 0.1, True, ""] for i in range(tasks)]
    probe = {"cpu_s": probe_cpu_s, "wall_s": probe_cpu_s, "tasks": [0]} if probe_cpu_s else None
    return {"warmup": False, "wall_s": wall_s, "process_cpu_s": 0.1 * tasks, "tasks": ran, "probe": probe}


def test_a_jobs_line_reads_speedup_as_the_summary_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Against every probe of the sweep so far, and never quoted beyond what its tasks in flight
    permit on the CPUs (work that only computes): impossible past the slack, at the limit within it."""
    monkeypatch.setattr(progress, "_cores", lambda: 2)
    sweep = str(tmp_path)  # a sweep of its own: another's probes are not this one's
    base = _record("base", 1, [_rep(0.4), _rep(0.4)])
    line = progress.summary_line("[1/4] a", _record("a", 2, [_rep(0.2, probe_cpu_s=0.1)] * 3), base, True, sweep)
    assert "speedup  2.00x  parallelism" in line, line
    # one probe of 0.2 s a task (a slow moment) among four of 0.1: the reference stays at 0.1 a task
    line = progress.summary_line("[2/4] b", _record("b", 2, [_rep(0.4, probe_cpu_s=0.2)]), base, True, sweep)
    assert "speedup  1.00x  parallelism" in line, line
    line = progress.summary_line("[3/4] c", _record("c", 1, [_rep(0.2)] * 3), base, True, sweep)
    assert "speedup impossible (2.00x > 1, the most 1 task(s) in flight on 2 CPUs permit)" in line, line
    line = progress.summary_line("[4/4] d", _record("d", 2, [_rep(0.19)] * 3), base, True, sweep)
    assert "speedup  2.11x at limit  parallelism" in line, line
    # the serial cell measures the reference itself: near 1 by construction, never "at limit"
    fast = _record("base", 1, [_rep(0.37)] * 2)
    assert "speedup  1.08x  parallelism" in progress.summary_line("[5/5] e", fast, fast, True, sweep)


def test_a_jobs_line_reads_parallelism_as_the_summary_does() -> None:
    task = [0, 1, 1, 0.0, 0.1, 0.05, True, ""]  # task, pid, thread, start, end, CPU, ok, error: as stored
    rep = {"warmup": False, "wall_s": 0.1, "process_cpu_s": 0.09, "tasks": [task]}
    record = _record("x", 1, [rep])
    assert progress.summary_line("[1/1] x", record, record, True, "x").endswith("parallelism  0.90")
    del rep["process_cpu_s"]  # a record from before the column: its tasks' CPU
    assert progress.summary_line("[1/1] x", record, record, True, "x").endswith(
        f"parallelism {pairing.task_cpu(rep) / 0.1:5.2f}"
    )


def test_sweep_lands_in_dated_directories_by_default(tmp_path: Path) -> None:
    proc = lab(
        "-m",
        "executor=serial",
        "workload=sleep",
        "workload.tasks=2",
        "workload.params.seconds=0.001",
        "repeats=1",
        "warmup=0",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    (root,) = (tmp_path / "outputs" / "sweeps").glob("*/*")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}/\d{2}-\d{2}-\d{2}", f"{root.parent.name}/{root.name}")
    assert (root / "0" / ".hydra" / "config.yaml").exists()


def test_a_failed_cell_does_not_stop_the_sweep(tmp_path: Path) -> None:
    root, proc = sweep(
        tmp_path,
        "workload=sleep",
        "workload.params.seconds=0.001,0.5",
        "workload.tasks=8",
        "executor=thread",
        "workers=8",
        "repeats=1",
        "warmup=0",
        "timeout_s=2",
    )
    summary = pd.read_csv(root / "summary.csv")
    # the 0.5 s serial baseline times out; its thread cell is measured, with no speedup to show
    assert sorted(summary["status"]) == ["ok", "ok", "ok", "timeout"]
    orphan = summary[(summary["executor"] == "thread") & (summary["workload.seconds"] == 0.5)]
    assert orphan["speedup_median"].isna().all() and (orphan["status"] == "ok").all()
    assert (root / "plots" / "speedup.png").exists()
    assert "TIMEOUT" in proc.stdout


def test_report_redraws_from_files_alone(small_sweep: tuple[Path, str], tmp_path: Path) -> None:
    import shutil

    from runner.report.sections import main

    copy = tmp_path / "copy"
    shutil.copytree(small_sweep[0], copy, ignore=shutil.ignore_patterns("plots", "cells"))
    assert main(["report", str(copy)]) == 0
    assert (copy / "plots" / "speedup.png").stat().st_size > 0


def test_the_readme_sweep_shows_the_physics(tmp_path: Path) -> None:
    """The README's first command, its grid and workload sizes, with two repetitions and no warm-up
    (a third of its time): the GIL, processes and sleeping threads."""
    root = tmp_path / "sweep"
    args = ["executor=thread,process", "workers=1,2,4,8", "repeats=2", "warmup=0", f"hydra.sweep.dir={root}"]
    proc = lab("-m", *args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = pd.read_csv(root / "summary.csv").fillna({"start_method": ""})
    assert set(summary["status"]) == {"ok"}
    cell = summary.set_index(["workload", "executor", "workers"])
    assert (cell.loc[("cpu", "thread"), "parallelism_median"] <= 1.2).all()
    # CPUs busy, not speedup, which divides by a baseline timed at another moment of a shared machine
    assert busy_of_free(root, "cpu", "process") >= 0.75
    assert cell.loc[("sleep", "thread", 8), "speedup_median"] >= 6


COUNT_COMPOSITIONS = """\
import atexit, runpy, sys
from hydra._internal.config_loader_impl import ConfigLoaderImpl
composed = []
compose = ConfigLoaderImpl.load_sweep_config
def counting(self, master, overrides):
    composed.append(tuple(overrides))
    return compose(self, master, overrides)
ConfigLoaderImpl.load_sweep_config = counting
atexit.register(lambda: print("composed", len(composed), len(set(composed)), file=sys.stderr))
sys.argv = ["runner", *sys.argv[1:]]
runpy.run_module("runner", run_name="__main__")
"""


def test_a_sweep_composes_each_job_once(tmp_path: Path) -> None:
    """Validation composes every job before the first cell; the launcher reuses it, and a job that
    chooses the files of an earlier one starts from its config (runner/sweep/composed.py)."""
    script = tmp_path / "count.py"
    script.write_text(COUNT_COMPOSITIONS)
    root = tmp_path / "sweep"
    args = ["-m", "workload=tiny", "executor=thread,process", "workers=1,2", "repeats=1", "warmup=0"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.run(
        [sys.executable, str(script), *args, f"hydra.sweep.dir={root}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    # four jobs composed once each, two of them by Hydra: workers=2 starts from workers=1's config
    assert "composed 2 2" in proc.stderr
    assert len(pd.read_csv(root / "results.csv").query("executor != 'serial'")) == 4


COMPARE_COMPOSITIONS = """\
import atexit, runpy, sys
from omegaconf import OmegaConf
from runner.sweep import composed
compose, checked, differ = composed.compose, [], []
def checking(loader, master, overrides):
    ours = OmegaConf.to_container(compose(loader, master, overrides), resolve=False)
    hydras = OmegaConf.to_container(loader.load_sweep_config(master, list(overrides)), resolve=False)
    checked.append(overrides)
    if ours != hydras:
        differ.append(overrides)
    return composed._WAITING[tuple(overrides)]
composed.compose = checking
def tell():
    print("checked", len(checked), "differ", differ, "templates", len(composed._TEMPLATES), file=sys.stderr)
atexit.register(tell)
sys.argv = ["runner", *sys.argv[1:]]
runpy.run_module("runner", run_name="__main__")
"""


@pytest.mark.parametrize(
    ("extra", "templates"),
    [
        (["hydra.job.chdir=false"], 4),  # 4 sets of files (workload x executor), 12 jobs made from them
        (["++hydra.job.env_set.LAB_MARK=x"], 0),  # Hydra writes env_set itself: every job Hydra's own
    ],
)
def test_jobs_that_choose_the_same_files_are_composed_as_hydra_composes_them(
    tmp_path: Path, extra: list[str], templates: int
) -> None:
    """A job's config made from another's that chose the same files equals Hydra's own composition,
    values, records of the overrides and output directory name included (runner/sweep/composed.py)."""
    script = tmp_path / "compare.py"
    script.write_text(COMPARE_COMPOSITIONS)
    root = tmp_path / "sweep"
    args = [
        "-m", "workload=tiny,sleep", "executor=thread,process", "workers=1,2", "++workload.tasks=2,3",
        "workload.fail_rate=0.0", "repeats=1", "warmup=0", "report=false", *extra,
    ]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, str(script), *args, f"hydra.sweep.dir={root}"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"checked 16 differ [] templates {templates}" in proc.stderr, proc.stderr[-2000:]
    assert len(list((root / "cells").glob("*.json"))) > 0


def test_a_primary_config_that_adds_to_the_search_path_leaves_every_job_to_hydra() -> None:
    """Groups that a search path in conf/config.yaml adds are not in the repository composed.py asks."""
    master = OmegaConf.create({"hydra": {"searchpath": ["file:///elsewhere"], "job": {"config_name": "config"}}})
    assert composed._files_chosen(None, master, []) == (None, [])


def test_report_false_writes_the_tables_and_leaves_the_report_to_later(tmp_path: Path) -> None:
    root, proc = sweep(
        tmp_path, "workload=sleep", "workload.tasks=2", "workload.params.seconds=0.001", "repeats=1",
        "warmup=0", "executor=thread", "workers=1,2", "report=false",
    )  # fmt: skip
    assert {"results.csv", "tasks.csv", "summary.csv"} <= {p.name for p in root.iterdir()}
    assert not (root / "report.html").exists() and not (root / "plots").exists()
    assert f"report: not drawn (report=false); draw it with: python -m runner.report {root}" in proc.stdout
    drawn = subprocess.run(
        [sys.executable, "-m", "runner.report", str(root)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    assert drawn.returncode == 0 and (root / "report.html").exists(), drawn.stderr
