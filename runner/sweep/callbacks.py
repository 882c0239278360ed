"""Hydra callbacks: plan and validate a sweep before any cell runs; aggregate after.

Aggregation reads the files the jobs left, never Hydra's in-memory returns, so it
works when jobs ran in other processes or on other machines.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from runner import files
from runner.files import write_json
from runner.results import environment
from runner.sweep import carry, composed, finishing, launch
from runner.sweep.errors import Uncomposable, fail, writing_output
from runner.sweep.hydra_internals import BasicSweeper
from runner.sweep.progress import SweepProgress
from runner.sweep.validate import build_spec, plain


def planned_jobs(config: DictConfig) -> list[list[str]]:
    """Each job's overrides, in launch order, as the basic sweeper will compute them (one job, with
    no overrides, where nothing is swept)."""
    params = [f"{k}={v}" for k, v in (config.hydra.sweeper.get("params") or {}).items()]
    parser = OverridesParser.create(config_loader=GlobalHydra.instance().config_loader())
    overrides = parser.parse_overrides([*params, *config.hydra.overrides.task])
    return BasicSweeper.split_arguments(overrides, None)[0]


def validate(config: DictConfig, jobs: list[list[str]]) -> tuple[int, list[dict[str, Any]]]:
    """Compose every job (once: the launcher reuses it) and validate its spec; return the
    number of distinct cells and the jobs' config group choices (the files they load)."""
    loader = GlobalHydra.instance().config_loader()
    cells = set()
    choices: dict[str, dict[str, Any]] = {}  # by their JSON: a thousand jobs choose a few sets of files
    for job in jobs:
        job_cfg = composed.compose(loader, config, job)
        cell_spec = build_spec(plain(job_cfg))
        cells.add((json.dumps(cell_spec, sort_keys=True), job_cfg.round))
        chosen = carry.choices(job_cfg)
        choices[json.dumps(chosen, sort_keys=True)] = chosen
    return len(cells), list(choices.values())


def here(hydra: Any) -> bool:
    """Whether the jobs run one after another in this process (Hydra's basic launcher, ``hydra``
    the config's hydra node): only then may the next cell's interpreter start ahead, between two
    cells (runner/sweep/launch.py)."""
    return str(OmegaConf.select(hydra, "launcher._target_", default="")).endswith(".BasicLauncher")


# What a sweep writes first (config/ is the copy of --config-dir): a directory holding one is the lab's, to resume.
LAB_FILES = ("cells", "plan.json", "environment.json", "config")
# What a sweep writes besides: one of them in a directory no sweep wrote would be overwritten (and Hydra's 0/, 1/, ...).
SWEEP_WRITES = (
    "results.csv",
    "summary.csv",
    "tasks.csv",
    "report.md",
    "report.html",
    "fits.csv",
    "plots",
    "multirun.yaml",
)

# Launchers that run several jobs at once on the machine that measures them.
CONCURRENT_LAUNCHERS = ("joblib", "submitit_launcher.LocalLauncher", "ray", "rq_launcher")


def prepared(root: Path, config: DictConfig, choices: list[dict[str, Any]]) -> None:
    """``prepare``, whose every failure stops the command in one line: Hydra turns an exception
    raised in a callback into a warning and sweeps on, into a directory the lab refused."""
    try:
        prepare(root, config, choices)
    except Exception as exc:
        fail(f"{root}: {type(exc).__name__}: {exc}")


def prepare(root: Path, config: DictConfig, choices: list[dict[str, Any]]) -> None:
    """Check the directory can be written and may be used; record the environment, and keep a
    copy of the ``--config-dir`` files that ``choices`` (each job's config groups) load.

    A directory that already holds cells is resumed (``resume=true``, the default):
    its environment.json gains a session rather than being replaced.
    """
    overrides = list(config.hydra.overrides.task)
    launcher = str(OmegaConf.select(config, "hydra.launcher._target_", default=""))
    side_by_side = any(name in launcher for name in CONCURRENT_LAUNCHERS)
    if side_by_side:
        print(
            f"warning: {launcher.rsplit('.', 1)[-1]} runs cells side by side on this machine, so their timings "
            "disturb each other; measure with the basic launcher, or spread cells over nodes (submitit_slurm)",
            file=sys.stderr,
        )
    used = (root / "cells").is_dir()
    if used and not config.resume:
        fail(f"resume: {root} already holds measured cells; allowed: resume=true, or a new directory")
    theirs = root.is_dir() and not any((root / name).exists() for name in LAB_FILES)
    clash = sorted(p.name for p in root.iterdir() if p.name in SWEEP_WRITES or p.name.isdigit()) if theirs else []
    if clash:
        fail(
            f"{root}: holds {clash[0]}, which a sweep would overwrite, and no sweep wrote it; allowed: a new "
            "directory, one without the sweep's files, or one a sweep wrote (to resume it)"
        )
    linked = files.links_out(root) if root.is_dir() else None
    if linked is not None:  # Hydra and the lab would write through it, outside the directory
        fail(f"{linked}: a symbolic link out of {root}; allowed: a sweep directory without such links")
    with writing_output():
        root.mkdir(parents=True, exist_ok=True)
        carry.keep(root, config, choices)  # first: a resumed sweep whose files changed stops here, unrecorded
        env = environment.read_environment(root) or environment.collect()
        this = {**environment.session(overrides), "launcher": launcher, "concurrent_launcher": side_by_side}
        env["sessions"] = [*env.get("sessions", []), this]
        env.setdefault("command", this["command"])  # the command that defined the sweep
        env.setdefault("overrides", overrides)
        # any session that ran cells side by side taints the whole directory's timings
        env["concurrent_launcher"] = env.get("concurrent_launcher", False) or side_by_side
        write_json(root / "environment.json", env)


class LabCallback(Callback):
    # The sweep in progress, so that an interrupted one can say how to resume it.
    current_root: Path | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        composed.forget()  # an earlier sweep in this process (tests, a notebook) composed other files
        root = LabCallback.current_root = Path(config.hydra.sweep.dir)
        try:  # a job that cannot be composed stops the sweep here, before its directory exists
            jobs = planned_jobs(config)
            cells, choices = validate(config, jobs)
        except (HydraException, OmegaConfBaseException, ValueError) as exc:
            raise Uncomposable(exc) from exc
        prepared(root, config, choices)
        plan = {"jobs": len(jobs), "cells": cells, "session": uuid.uuid4().hex, "overrides": jobs}
        write_json(root / "plan.json", plan)
        SweepProgress.start(len(jobs))
        finishing.wait_until_ready()  # no cell measures while the summary's helper imports
        if here(config.hydra):  # the first cell's interpreter starts while Hydra sets up the first job
            launch.start_next({"gil": config.get("gil")})

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        launch.discard()  # started for a cell that was reused, or guessed wrong
        SweepProgress.stop()
        finishing.finish(Path(config.hydra.sweep.dir), bool(config.get("report", True)))

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        build_spec(plain(config))  # bad input fails before Hydra creates the run directory
        prepared(Path(config.hydra.run.dir), config, [carry.choices(config)])
        finishing.wait_until_ready()

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        launch.discard()
        finishing.finish(Path(config.hydra.run.dir), bool(config.get("report", True)))
