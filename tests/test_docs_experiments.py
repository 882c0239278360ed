"""Every shipped experiment the docs run (``python -m runner -m +experiment=NAME``) runs as
written, small: each reads nothing an earlier command wrote, so a file of its own lets another
pytest worker run them while tests/test_docs.py runs the commands that read each other's output."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_docs import check, run, runnable, stands_alone

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("command", [c for c in runnable() if stands_alone(c)])
def test_a_shipped_experiment_in_the_docs_runs(command: str, tmp_path: Path) -> None:
    check(command, run(command, tmp_path, [], name="experiment"))
