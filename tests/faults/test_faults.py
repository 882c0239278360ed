"""Faults injected into real sweeps: the sweep goes on and the files tell what happened."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import lab, sweep
from tests.faults.conftest import (
    cell_interpreters,
    children,
    interrupt,
    records,
    session_members,
    start_lab,
    wait_for,
)

pytestmark = pytest.mark.slow
SLEEPY = ["workload=sleep", "workload.tasks=8", "repeats=1", "warmup=0", "report=false"]


def test_failing_tasks_are_counted_and_the_sweep_goes_on(tmp_path: Path) -> None:
    root, proc = sweep(
        tmp_path,
        *SLEEPY,
        "workload.params.seconds=0.001",
        "workload.fail_rate=0.5",
        "executor=thread,process",
    )
    results = pd.read_csv(root / "results.csv")
    assert set(results["status"]) == {"ok"}
    assert (results["errors"] > 0).all()
    assert "task errors" in proc.stdout


def test_a_worker_killed_from_outside_breaks_only_its_cell(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    sweep = start_lab(
        "-m",
        *SLEEPY,
        "workload.params.seconds=0.4",
        "executor=process",
        "workers=2",
        "start_method=fork,spawn",
        f"hydra.sweep.dir={root}",
        cwd=tmp_path,
    )
    # the serial baseline has no children; the first process cell has two workers
    workers = wait_for(lambda: [c for p in cell_interpreters(root) for c in children(p)], what="pool workers")
    os.kill(workers[0], signal.SIGKILL)
    out, err = sweep.communicate(timeout=120)
    assert sweep.returncode == 0, err
    summary = pd.read_csv(root / "summary.csv").set_index("start_method")
    assert summary.loc["fork", "status"] == "error"
    assert summary.loc["spawn", "status"] == "ok"  # the sweep went on
    message = pd.read_csv(root / "results.csv").query("status == 'error'")["message"].iloc[0]
    assert "BrokenProcessPool" in message
    assert "ERROR" in out


def test_a_hanging_cell_is_killed_with_every_process_it_started(tmp_path: Path) -> None:
    root, _proc = sweep(
        tmp_path,
        *SLEEPY,
        "workload.params.seconds=30",
        "executor=process",
        "workers=2",
        "start_method=spawn",
        "timeout_s=3",
        timeout=120,
    )
    assert set(pd.read_csv(root / "summary.csv")["status"]) == {"timeout"}
    for record in records(root):
        assert record["result"]["status"] == "timeout"
        assert session_members(record["result"]["pid"]) == []  # no orphan left behind


def test_a_crashed_cell_interpreter_is_recorded(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    sweep = start_lab(
        "-m",
        *SLEEPY,
        "workload.params.seconds=0.3",
        "executor=thread",
        "workers=1,2",
        f"hydra.sweep.dir={root}",
        cwd=tmp_path,
    )
    cell = wait_for(lambda: cell_interpreters(root), what="a cell interpreter")[0]
    os.kill(cell, signal.SIGSEGV)
    _, err = sweep.communicate(timeout=120)
    assert sweep.returncode == 0, err
    results = pd.read_csv(root / "results.csv")
    crashed = results[results["status"] == "error"]
    assert len(crashed) == 1 and "SIGSEGV" in crashed["message"].iloc[0]
    assert (results["status"] == "ok").sum() >= 2  # the other cells were measured


@pytest.mark.alone
def test_ctrl_c_stops_fast_keeps_finished_cells_and_says_how_to_resume(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    args = [
        "-m",
        *SLEEPY,
        # long enough that the cells after the first two (2, 1 and 0.5 s) cannot all finish between
        # seeing a cell in progress and the interrupt: it must land while one runs
        "workload.params.seconds=0.5",
        "executor=thread",
        "workers=1,2,4,8",
        f"hydra.sweep.dir={root}",
    ]
    sweep = start_lab(*args, cwd=tmp_path)
    wait_for(lambda: len(records(root)) >= 2, what="two finished cells")
    cell = wait_for(lambda: cell_interpreters(root), what="a cell in progress")[0]
    finished = {r["cell"] for r in records(root)}
    interrupted_at = time.monotonic()
    interrupt(sweep)
    _, err = sweep.communicate(timeout=30)
    assert time.monotonic() - interrupted_at < 3
    assert sweep.returncode == 130
    assert "Traceback" not in err
    assert session_members(cell) == []  # the cell in progress went with it
    assert finished <= {r["cell"] for r in records(root)}
    assert not list(root.rglob(".*.tmp"))
    command = re.search(r"resume with: (.*)", err)
    assert command and f"hydra.sweep.dir={root}" in command.group(1)
    assert command.group(1).count("hydra.sweep.dir=") == 1

    resumed = lab(*args, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    results = pd.read_csv(root / "results.csv")
    assert len(results) == results[["cell", "round", "rep"]].drop_duplicates().shape[0] == 5
    assert resumed.stdout.count("already measured") >= len(finished) - 1  # the baseline prints no line


def test_a_full_disk_is_one_line_and_loses_nothing(tmp_path: Path) -> None:
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True)
    assert mounted.returncode == 0, f"this test needs root to mount a small tmpfs: {mounted.stderr!r}"
    try:
        root = disk / "sweep"
        first = lab(
            "-m",
            *SLEEPY,
            "workload.params.seconds=0.001",
            "executor=thread",
            "workers=1",
            f"hydra.sweep.dir={root}",
            cwd=tmp_path,
        )
        assert first.returncode == 0, first.stderr
        before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
        filler = disk / "filler"
        with contextlib.suppress(OSError), filler.open("wb") as f:  # fill the disk to the last byte
            while True:
                f.write(b"\0" * 4096)
                f.flush()
        again = lab(
            "-m",
            *SLEEPY,
            "workload.params.seconds=0.001",
            "executor=thread",
            "workers=1,2",
            f"hydra.sweep.dir={root}",
            cwd=tmp_path,
        )
        assert again.returncode != 0
        assert again.stderr.strip().splitlines() == [again.stderr.strip()]
        assert "No space left on device" in again.stderr and "Traceback" not in again.stderr
        for path, content in before.items():
            if path.suffix in (".csv", ".json") and path.name != "environment.json":
                assert path.read_bytes() == content, f"{path} changed"
        assert json.loads((root / "environment.json").read_text())
        assert not list(root.rglob(".*.tmp"))
    finally:
        subprocess.run(["umount", str(disk)], check=True)


@pytest.mark.parametrize(
    ("executor", "mode", "status", "says"),
    [
        ("process", "exit", "error", "BrokenProcessPool"),
        ("mp_pool", "exit", "error", "BrokenPool"),
        ("thread", "segv", "error", "SIGSEGV"),
        ("process", "segv", "error", "BrokenProcessPool"),
        ("thread", "hang", "timeout", "timeout_s=3"),
    ],
)
def test_the_fault_workload_in_a_real_sweep(tmp_path: Path, executor: str, mode: str, status: str, says: str) -> None:
    root, _proc = sweep(
        tmp_path,
        "workload=fault",
        f"workload.params.mode={mode}",
        "workload.params.at=2",
        "workload.tasks=6",
        "workers=2",
        "repeats=1",
        "warmup=0",
        "timeout_s=3",
        f"executor={executor},serial",
        timeout=120,
    )
    results = pd.read_csv(root / "results.csv")
    broken = results[results["executor"] == executor]
    assert list(broken["status"]) == [status] and says in broken["message"].iloc[0]
    assert (root / "plots").is_dir() and (root / "summary.csv").exists()  # the sweep still reports
    for record in records(root):
        assert session_members(record["result"]["pid"]) == []
