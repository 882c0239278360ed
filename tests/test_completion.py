"""Tab completion (Hydra's bash completion): it offers what a user can choose, and nothing internal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.paths import CONF_DIR, PROJECT_ROOT


def completions(line: str, cwd: Path) -> list[str]:
    """What bash would be offered for ``line``: Hydra's completion query, as its bash script asks it."""
    env = {**os.environ, "COMP_LINE": line, "COMP_POINT": str(len(line)), "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "runner", "-sc", "query=bash"], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


@pytest.mark.parametrize("group", ["workload", "executor"])
def test_completion_offers_the_options_a_user_can_choose(tmp_path: Path, group: str) -> None:
    offered = completions(f"concurrency-lab {group}=", tmp_path)
    assert offered == sorted(f"{group}={p.stem}" for p in (CONF_DIR / group).glob("*.yaml"))
    assert not [o for o in offered if "base_" in o], "the schemas the options extend are not options"


@pytest.mark.parametrize(
    ("line", "offered"),
    [
        ("concurrency-lab report ", []),  # nothing, and no error: the shell completes file names
        ("concurrency-lab compare outputs/sw", []),
        ("concurrency-lab rep", ["repeats=", "replay", "report", "report="]),
    ],
)
def test_the_script_completes_its_subcommands_without_an_error(tmp_path: Path, line: str, offered: list[str]) -> None:
    env = {**os.environ, "COMP_LINE": line, "COMP_POINT": str(len(line)), "PYTHONPATH": str(PROJECT_ROOT)}
    script = "import sys; from runner.console import script; sys.argv[0] = 'concurrency-lab'; script()"
    proc = subprocess.run(
        [sys.executable, "-c", script, "-sc", "query=bash"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert sorted(proc.stdout.split()) == offered
