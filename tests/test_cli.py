"""The `concurrency-lab` console script: the Hydra app plus report, compare and replay."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from runner.paths import PROJECT_ROOT

SCRIPT = Path(sys.executable).parent / "concurrency-lab"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists(), "pip install -e . installs the concurrency-lab script beside python"
    return subprocess.run([str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_both_commands_start_the_summary_helper_before_hydra_is_imported() -> None:
    # what was imported when the helper was started, through each command's own entry
    code = (
        "import sys; from runner.sweep import finishing\n"
        "finishing.start = lambda argv: print(sorted(m for m in ('hydra', 'omegaconf', 'pandas', 'matplotlib') "
        "if m in sys.modules), flush=True) or sys.exit(0)\n"
    )
    script = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"]["concurrency-lab"]
    module, function = script.split(":")
    entries = {"python -m runner": "import runpy; runpy.run_module('runner', run_name='__main__')"}
    entries["concurrency-lab"] = f"import {module}; sys.argv = ['concurrency-lab', '-m']; {module}.{function}()"
    for name, entry in entries.items():
        proc = subprocess.run(
            [sys.executable, "-c", code + entry, "-m"], capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT
        )
        assert proc.returncode == 0, (name, proc.stderr)
        assert proc.stdout.strip() == "[]", name


def test_help_lists_the_subcommands(tmp_path: Path) -> None:
    proc = run("--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for line in ("report DIR", "compare DIR_A DIR_B", "replay DIR", "== Configuration groups =="):
        assert line in proc.stdout


@pytest.mark.parametrize("sub", ["report", "compare", "replay"])
def test_each_subcommand_has_its_own_help(tmp_path: Path, sub: str) -> None:
    proc = run(sub, "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: concurrency-lab {sub} ")  # the command the user typed
    module = subprocess.run(
        [sys.executable, "-m", f"runner.{sub}", "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert module.stdout.startswith(f"usage: python -m runner.{sub} ")
    assert "``" not in module.stdout  # the docstring's markup stays in the docstring
    wrong = run(sub, "a", "b", "--no-such-flag", cwd=tmp_path)
    assert wrong.returncode == 2 and wrong.stdout == ""
    extra = "b " if sub != "compare" else ""  # compare takes both words as its directories
    said = f"error: unrecognized arguments: {extra}--no-such-flag; see concurrency-lab {sub} --help\n"
    assert wrong.stderr == said


@pytest.mark.slow
def test_a_run_then_its_report_through_the_script(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run(
        "workload=sleep",
        "workload.tasks=4",
        "workload.params.seconds=0.001",
        "repeats=1",
        "warmup=0",
        f"hydra.run.dir={out}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    (out / "report.html").unlink()
    again = run("report", str(out), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (out / "report.html").stat().st_size > 0


def test_bad_input_is_one_line_through_the_script_too(tmp_path: Path) -> None:
    proc = run("workers=0", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: workers: 0 is out of range; allowed: an integer between 1 and 1024"
