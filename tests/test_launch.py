"""A cell's interpreter started ahead (runner/sweep/launch.py): it measures only the cell it
is told, in that cell's own files, and none is left behind."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.sweep import launch
from tests.conftest import cell_spec


@pytest.fixture(autouse=True)
def nothing_ahead() -> Iterator[None]:
    launch.discard()
    yield
    launch.discard()


def ahead_pid() -> int:
    assert len(launch._ahead) == 1
    return launch._ahead[0][1].pid


def ended(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_cell_runs_in_the_interpreter_started_ahead_and_writes_its_own_files(tmp_path: Path) -> None:
    spec = cell_spec()
    launch.start_next(spec)
    pid = ahead_pid()
    time.sleep(0.5)  # long enough to import everything: it must still be waiting, having written nothing
    assert launch._ahead[0][1].poll() is None
    result = launch.run_cell(spec, tmp_path / "cell")
    assert result["status"] == "ok", result["message"]
    assert result["pid"] == pid
    assert len(result["reps"]) == spec["warmup"] + spec["repeats"]
    assert (tmp_path / "cell" / "result.json").exists()
    assert (tmp_path / "cell" / "stderr.txt").read_text() == ""
    assert launch._ahead == []


def test_the_one_started_ahead_takes_the_cell_s_output(tmp_path: Path) -> None:
    """A cell that fails writes its traceback into its own stderr.txt, as a cell started afresh does."""
    spec = cell_spec(workload={"name": "no_such_workload", "tasks": 2, "params": {}, "fail_rate": 0.0})
    launch.start_next(spec)
    pid = ahead_pid()
    result = launch.run_cell(spec, tmp_path / "cell")
    assert result["pid"] == pid
    assert result["status"] == "error"
    assert "no_such_workload" in (tmp_path / "cell" / "stderr.txt").read_text() + result["message"]


def test_one_started_for_another_environment_is_discarded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = cell_spec()
    launch.start_next(spec)
    pid = ahead_pid()
    monkeypatch.setenv("LAB_SET_BY_THE_NEXT_JOB", "1")  # as hydra.job.env_set does between two jobs
    result = launch.run_cell(spec, tmp_path / "cell")
    assert result["status"] == "ok", result["message"]
    assert result["pid"] != pid
    assert ended(pid)


def test_one_that_ended_before_it_was_told_is_replaced(tmp_path: Path) -> None:
    """It took the spec (the pipe accepted the line) but never read it: the cell is measured afresh."""
    spec = cell_spec()
    dies = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(0.5)"], stdin=subprocess.PIPE, start_new_session=True
    )
    launch._ahead.append((launch._started(spec), dies))
    result = launch.run_cell(spec, tmp_path / "cell")
    assert result["status"] == "ok", result["message"]
    assert result["pid"] != dies.pid


def test_no_interpreter_to_start_ahead_is_no_error(tmp_path: Path) -> None:
    """A ``python=`` the sweep resolves later, or no process to spare: the cell starts its own."""
    launch.start_next(cell_spec(python=str(tmp_path / "no-such-python")))
    assert launch._ahead == []
    result = launch.run_cell(cell_spec(), tmp_path / "cell")
    assert result["status"] == "ok", result["message"]


def test_a_waiting_interpreter_ends_when_the_sweep_goes_away() -> None:
    waiting = subprocess.Popen(
        [sys.executable, "-m", "runner.core.cell", "--wait"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    out, err = waiting.communicate(b"", timeout=30)  # its stdin closes, as when the sweep's process ends
    assert (waiting.returncode, out, err) == (0, b"", b"")


def test_a_sweep_leaves_no_interpreter_waiting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runner import cli

    started: list[subprocess.Popen[bytes]] = []
    start_next = launch.start_next

    def recorded(spec: dict[str, object]) -> None:
        start_next(spec)
        started.append(launch._ahead[-1][1])

    monkeypatch.setattr(launch, "start_next", recorded)
    monkeypatch.chdir(tmp_path)
    argv = ["-m", "workload=tiny", "executor=thread", "workers=1,2", "report=false", f"hydra.sweep.dir={tmp_path}/s"]
    with contextlib.redirect_stdout(io.StringIO()):
        cli.main(argv)
    assert (tmp_path / "s" / "summary.csv").exists()
    # one at the start, one after the baseline, one after the first job's cell; none after the last
    assert len(started) == 3
    assert launch._ahead == []
    assert all(proc.poll() is not None for proc in started)
    with contextlib.redirect_stdout(io.StringIO()):
        cli.main(argv)  # again: every cell is reused, so the one started at the start has no cell
    assert len(started) == 4
    assert launch._ahead == []
    assert started[-1].poll() is not None
