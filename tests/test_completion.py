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
