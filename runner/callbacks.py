"""Hydra callbacks: plan and validate a sweep before any cell runs; aggregate after.

Aggregation reads the files the jobs left, never Hydra's in-memory returns, so it
works when jobs ran in other processes or on other machines.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from runner import environment
from runner.app import build_spec, plain
from runner.cell import load_average, write_json


def planned_jobs(config: DictConfig) -> list[list[str]]:
    """Each job's overrides, in launch order, as the basic sweeper will compute them."""
    params = [f"{k}={v}" for k, v in (config.hydra.sweeper.get("params") or {}).items()]
    parser = OverridesParser.create(config_loader=GlobalHydra.instance().config_loader())
    overrides = parser.parse_overrides([*params, *config.hydra.overrides.task])
    return BasicSweeper.split_arguments(overrides, None)[0]


def validate(config: DictConfig, jobs: list[list[str]]) -> int:
    """Compose every job and validate its spec; return the number of distinct cells."""
    loader = GlobalHydra.instance().config_loader()
    cells = set()
    for job in jobs:
        try:
            job_cfg = loader.load_sweep_config(config, job)
        except HydraException:
            return -1  # the sweeper reports composition errors in Hydra's own words
        cell_spec = build_spec(plain(job_cfg))
        cells.add((json.dumps(cell_spec, sort_keys=True), job_cfg.round))
    return len(cells)


def write_environment(root: Path, config: DictConfig) -> None:
    root.mkdir(parents=True, exist_ok=True)
    write_json(root / "environment.json", environment.collect(list(config.hydra.overrides.task)))


def finish(root: Path) -> None:
    """Aggregate, write the report, and print the summary and verdicts; the report reads only the files."""
    from runner import console, report
    from runner.aggregate import aggregate
    from runner.data import DataError

    env_path = root / "environment.json"
    env: dict[str, Any] = json.loads(env_path.read_text()) if env_path.exists() else {}
    env["load_after"] = load_average()
    write_json(env_path, env)
    table = aggregate(root)
    console.print_summary(table, root)
    try:
        written = report.render(root)
    except DataError as exc:  # nothing measured to report: the summary above says why
        print(f"report: not written ({exc})")
        return
    console.print_verdicts(written.verdicts)
    print(f"report: {root / 'report.html'}")


class LabCallback(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        root = Path(config.hydra.sweep.dir)
        jobs = planned_jobs(config) if config.hydra.sweeper.get("params") is not None else []
        cells = validate(config, jobs) if jobs else -1
        write_environment(root, config)
        write_json(root / "plan.json", {"jobs": len(jobs) or "?", "cells": cells, "overrides": jobs})

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        finish(Path(config.hydra.sweep.dir))

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        build_spec(plain(config))  # bad input fails before Hydra creates the run directory
        write_environment(Path(config.hydra.run.dir), config)

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        finish(Path(config.hydra.run.dir))
