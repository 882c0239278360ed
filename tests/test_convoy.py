"""Beazley's convoy effect, measured in real cells: collapse under a busy thread, recovery at a short interval."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.sweep.launch import run_cell
from tests.conftest import cell_spec

# the convoy effect is a matter of timing: nothing else runs beside it
pytestmark = pytest.mark.alone


def requests_per_s(tmp_path: Path, busy: int, switch_interval: float | None) -> float:
    spec = cell_spec(
        workload={"name": "convoy", "tasks": 2, "params": {"busy": busy, "requests": 60}, "fail_rate": 0.0},
        repeats=1,
        warmup=1,
        switch_interval=switch_interval,
    )
    result = run_cell(spec, tmp_path / f"{busy}-{switch_interval}")
    assert result["status"] == "ok", result["message"]
    rate: float = result["reps"][-1]["metrics"]["requests_per_s"]
    return rate


@pytest.mark.slow
def test_a_busy_thread_convoys_io_and_a_short_switch_interval_recovers_it(tmp_path: Path) -> None:
    alone = requests_per_s(tmp_path, busy=0, switch_interval=None)
    convoyed = requests_per_s(tmp_path, busy=1, switch_interval=None)
    recovered = requests_per_s(tmp_path, busy=1, switch_interval=0.0001)
    # measured here: about 60,000 alone, 240 behind one busy thread, 4,000 at 0.1 ms
    assert convoyed * 10 < alone
    assert recovered > 3 * convoyed
