"""Property tests of the threat model: generated hostile shared configs (benchmarks/hostile_configs.py).

Few examples here, to keep CI fast; ``python benchmarks/hostile_configs.py`` runs the long
campaign (2,000 configs) with the same strategy and oracles.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from benchmarks.hostile_configs import cli_violations, composed_violations, shared_configs
from runner.sweep import config

config.register()  # the lab's schemas, as its entry point registers them
QUICK = settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@QUICK
@given(shared_configs())
def test_no_shared_file_gets_a_forbidden_value_into_the_config(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _, found = composed_violations(files, Path(tmp))
    assert found == []


@pytest.mark.slow
@settings(QUICK, max_examples=3)
@given(shared_configs())
def test_the_cli_runs_nothing_and_writes_nothing_outside(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        found = cli_violations(files, Path(tmp))
    assert found == []
