"""The summary's helper (runner/sweep/finishing.py): it does the summary's work in its own
process, never while a cell measures, and the command ends as if the sweep had done it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.paths import PROJECT_ROOT
from runner.sweep import finishing
from tests.conftest import lab


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sweep, measured and summarized without a report."""
    root = tmp_path_factory.mktemp("finishing") / "sweep"
    proc = lab(
        "-m", "workload=tiny", "executor=thread", "workers=1,2", "repeats=1", "report=false", f"hydra.sweep.dir={root}"
    )
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.fixture
def sweep(measured: Path, tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "sweep"
    shutil.copytree(measured, root)
    for name in ("summary.csv", "results.csv"):
        (root / name).unlink()
    finishing.discard()
    yield root
    finishing.discard()


def script(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``code`` in a process of its own, whose stdout and stderr are its file descriptors 1 and 2."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_helper_summarizes_and_this_process_imports_none_of_it(sweep: Path) -> None:
    proc = script(
        "import sys; from pathlib import Path; from runner.sweep import finishing\n"
        "finishing.start(['-m']); finishing.wait_until_ready()\n"
        "helper = finishing._helper[0][0]\n"
        f"finishing.finish(Path({str(sweep)!r}), report=True)\n"
        "print('helper', helper.poll(), 'pandas here', 'pandas' in sys.modules, 'matplotlib here', "
        "'matplotlib' in sys.modules)\n",
        sweep.parent,
    )
    assert proc.returncode == 0, proc.stderr
    assert "helper 0 pandas here False matplotlib here False" in proc.stdout
    assert proc.stdout.index("report: ") < proc.stdout.index("helper 0")  # its output came first, whole
    assert (sweep / "summary.csv").exists()
    assert (sweep / "report.html").exists()


def test_a_broken_record_is_one_line_from_the_helper_with_the_details_kept(sweep: Path) -> None:
    next((sweep / "cells").glob("*.json")).write_text("{")  # a record broken by hand
    proc = script(
        "from pathlib import Path; from runner.sweep import finishing\n"
        "finishing.start(['-m']); finishing.wait_until_ready()\n"
        f"finishing.finish(Path({str(sweep)!r}), report=False)\n",
        sweep.parent,
    )
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: summary: JSONDecodeError: ")
    assert line.endswith(f"(details in {sweep / 'summary-error.txt'})")
    assert "Traceback" in (sweep / "summary-error.txt").read_text()


def test_no_helper_for_a_command_that_runs_no_job_or_whose_output_is_redirected(sweep: Path) -> None:
    finishing.start(["--help"])
    assert finishing._helper == []
    finishing.start(["-m"])  # under pytest, sys.stdout is not file descriptor 1
    assert finishing._helper == []


def fake_helper(code: str) -> None:
    """A helper that runs ``code`` instead (told on file descriptor ``told``)."""
    ready, told = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-c", f"import os, sys\ntold = {told}\n{code}"], stdin=subprocess.PIPE, pass_fds=(told,)
    )
    os.close(told)
    finishing._helper.append((proc, ready))


def test_the_helper_s_exit_code_is_the_command_s(sweep: Path) -> None:
    fake_helper("os.write(told, b'r'); sys.stdin.readline(); sys.exit(3)")
    with pytest.raises(SystemExit) as stopped:
        finishing.finish(sweep, report=False)
    assert stopped.value.code == 3
    assert finishing._helper == []


def test_a_command_that_stops_after_the_helper_got_ready_ends_it() -> None:
    fake_helper("os.write(told, b'r'); sys.stdin.readline()")
    helper = finishing._helper[0][0]
    finishing.wait_until_ready()
    finishing.discard()  # as the command does on Ctrl-C or bad input
    assert finishing._helper == [] and helper.poll() is not None


def test_ctrl_c_while_the_helper_summarizes_ends_it(sweep: Path) -> None:
    proc = script(
        "import os, signal, subprocess, sys\n"
        "from pathlib import Path; from runner.sweep import finishing\n"
        "ready, told = os.pipe()\n"
        "slow = \"import os, sys, time; os.write(%d, b'r'); sys.stdin.readline(); time.sleep(60)\" % told\n"
        "helper = subprocess.Popen([sys.executable, '-c', slow], stdin=subprocess.PIPE, pass_fds=(told,))\n"
        "os.close(told); finishing._helper.append((helper, ready))\n"
        "def interrupt(*_): raise KeyboardInterrupt\n"
        "signal.signal(signal.SIGALRM, interrupt); signal.alarm(2)\n"
        "try:\n"
        f"    finishing.finish(Path({str(sweep)!r}), report=False)\n"
        "except KeyboardInterrupt:\n"
        "    finishing.discard()  # as the command's own handler does\n"
        "print('helper ended', helper.poll() is not None)\n",
        sweep.parent,
    )
    assert "helper ended True" in proc.stdout, proc.stderr


def test_a_helper_killed_while_it_summarized_leaves_the_summary_to_this_process(
    sweep: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_helper("os.write(told, b'r'); sys.stdin.readline(); os.kill(os.getpid(), 9)")  # the OOM killer
    finishing.finish(sweep, report=False)
    assert finishing._helper == []
    assert (sweep / "summary.csv").exists()
    assert "killed by signal 9; summarizing here" in capsys.readouterr().err


def test_a_helper_that_never_got_ready_leaves_the_summary_to_this_process(
    sweep: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_helper("sys.exit(1)")  # as an interpreter that cannot import the report would
    finishing.finish(sweep, report=False)
    assert finishing._helper == []
    assert (sweep / "summary.csv").exists()
    assert "report: not drawn (report=false)" in capsys.readouterr().out


def test_a_waiting_helper_ends_with_its_stdin(tmp_path: Path) -> None:
    ready, told = os.pipe()
    helper = subprocess.Popen(
        [sys.executable, "-m", "runner.sweep.finishing", str(told)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=(told,),
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        cwd=tmp_path,
    )
    os.close(told)
    assert os.read(ready, 1) == b"r"
    os.close(ready)
    out, err = helper.communicate(b"", timeout=60)  # the sweep's process went away
    assert (helper.returncode, out, err) == (0, b"", b"")
