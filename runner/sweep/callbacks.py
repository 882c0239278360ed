"""Hydra callbacks: plan and validate a sweep before any cell runs; aggregate after.

Aggregation reads the files the jobs left, never Hydra's in-memory returns, so it
works when jobs ran in other processes or on other machines.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from runner import files
from runner.exiting import printable
from runner.files import write_json
from runner.results import environment
from runner.sweep import calibrate, carry, composed, finishing, launch, spec
from runner.sweep.errors import Uncomposable, fail, writing_output
from runner.sweep.hydra_internals import BasicSweeper
from runner.sweep.progress import SweepProgress
from runner.sweep.validate import build_spec, plain


@dataclass(frozen=True)
class Plan:
    choices: list[dict[str, Any]]  # the jobs' config group choices: the files they load
    planned: list[Planned]  # each distinct cell, as validation built it

    @property
    def cells(self) -> int:
        return len(self.planned)


@dataclass(frozen=True)
class Planned:
    spec: dict[str, Any]
    round: int
    target_s: float | None  # calibrate=true: what one serial repetition is sized to last

    @classmethod
    def of(cls, resolved: dict[str, Any]) -> Planned:
        """A job's cell, from its resolved config; SpecError where the config is bad input."""
        return cls(build_spec(resolved), resolved["round"], resolved["target_s"] if resolved["calibrate"] else None)


def planned_jobs(config: DictConfig) -> list[list[str]]:
    """Each job's overrides, in launch order, as the basic sweeper will compute them (one job, with
    no overrides, where nothing is swept)."""
    params = [f"{k}={v}" for k, v in (config.hydra.sweeper.get("params") or {}).items()]
    parser = OverridesParser.create(config_loader=GlobalHydra.instance().config_loader())
    overrides = parser.parse_overrides([*params, *config.hydra.overrides.task])
    return BasicSweeper.split_arguments(overrides, None)[0]


def validate(config: DictConfig, jobs: list[list[str]]) -> Plan:
    """Compose every job (once: the launcher reuses it) and validate its spec."""
    loader = GlobalHydra.instance().config_loader()
    planned: dict[str, Planned] = {}  # by the cell's JSON and round
    choices: dict[str, dict[str, Any]] = {}  # by their JSON: a thousand jobs choose a few sets of files
    for job in jobs:
        job_cfg = composed.compose(loader, config, job)
        cell = Planned.of(plain(job_cfg))
        planned[json.dumps([cell.spec, cell.round], sort_keys=True)] = cell
        chosen = carry.choices(job_cfg)
        choices[json.dumps(chosen, sort_keys=True)] = chosen
    return Plan(list(choices.values()), list(planned.values()))


def stored_in(root: Path, planned: list[Planned]) -> set[tuple[str, int]]:
    """The cell records the planned cells store in ``root`` (runner/sweep/app.py), by cell id and
    round: each cell and its serial baseline; a calibrated one both as planned (a calibration that
    failed stores it so) and as sized by the calibration ``root`` holds for it, if any."""
    stored = set()
    for cell in planned:
        sized = (
            [cell.spec] if cell.target_s is None else [cell.spec, calibrate.recorded(cell.spec, root, cell.target_s)]
        )
        stored |= {(spec.cell_id(s), cell.round) for c in sized for s in (c, spec.baseline(c))}
    return stored


def here(hydra: Any) -> bool:
    """Whether the jobs run one after another in this process (Hydra's basic launcher, ``hydra``
    the config's hydra node): only then may the next cell's interpreter start ahead, between two
    cells (runner/sweep/launch.py)."""
    return str(OmegaConf.select(hydra, "launcher._target_", default="")).endswith(".BasicLauncher")


def other_cells(root: Path, stored: set[tuple[str, int]]) -> Iterator[str]:
    """The cell records in ``root`` that are not among ``stored``, each as the overrides that name it."""
    for path in sorted((root / "cells").glob("*.json")):
        record = _cell_record(path)
        if record is None:
            yield f"{path.name}, not a cell record"
        elif (record.get("cell"), record.get("round")) not in stored:
            found = record.get("spec")
            measured: dict[str, Any] = found if isinstance(found, dict) else {}
            named = {
                "workload": _name(measured.get("workload")),
                "executor": _name(measured.get("executor")),
                "start_method": measured.get("start_method"),
                "workers": measured.get("workers"),
                "round": record.get("round"),
            }
            yield printable(" ".join(f"{k}={v}" for k, v in named.items() if v not in (None, "")))


def _cell_record(path: Path) -> dict[str, Any] | None:
    if not path.is_file():  # a folder, a FIFO, which would block the read
        return None
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _name(part: object) -> object:
    return part.get("name") if isinstance(part, dict) else None


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


def prepared(root: Path, config: DictConfig, plan: Plan) -> None:
    """``prepare``, whose every failure stops the command in one line: Hydra turns an exception
    raised in a callback into a warning and sweeps on, into a directory the lab refused."""
    try:
        prepare(root, config, plan)
    except Exception as exc:
        fail(f"{root}: {type(exc).__name__}: {exc}")


def prepare(root: Path, config: DictConfig, plan: Plan) -> None:
    """Check the directory can be written and may be used; record the environment, and keep a
    copy of the ``--config-dir`` files that the plan's jobs load.

    A directory that already holds cells is resumed (``resume=true``, the default):
    its environment.json gains a session rather than being replaced. The sweep must measure
    every cell the directory holds (it may add cells): Hydra's records of this sweep
    (multirun.yaml, 0/, 1/, ...) replace those of the last, so they must describe them all.
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
    other = next(other_cells(root, stored_in(root, plan.planned)), None) if used else None
    if other is not None:
        fail(
            f"{root}: holds cells this sweep would not measure, e.g. {other}; a directory keeps one sweep's records, "
            "which a resume replaces; allowed: the same sweep again (its missing or failed cells), one that adds "
            "values or rounds to it, or a new directory"
        )
    with writing_output():
        root.mkdir(parents=True, exist_ok=True)
        carry.keep(root, config, plan.choices)  # first: a resumed sweep whose files changed stops here, unrecorded
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
            plan = validate(config, jobs)
        except (HydraException, OmegaConfBaseException, ValueError) as exc:
            raise Uncomposable(exc) from exc
        prepared(root, config, plan)
        record = {"jobs": len(jobs), "cells": plan.cells, "session": uuid.uuid4().hex, "overrides": jobs}
        write_json(root / "plan.json", record)
        SweepProgress.start(len(jobs))
        finishing.wait_until_ready()  # no cell measures while the summary's helper imports
        if here(config.hydra):  # the first cell's interpreter starts while Hydra sets up the first job
            launch.start_next({"gil": config.get("gil")})

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        launch.discard()  # started for a cell that was reused, or guessed wrong
        SweepProgress.stop()
        finishing.finish(Path(config.hydra.sweep.dir), bool(config.get("report", True)))

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        cell = Planned.of(plain(config))  # bad input fails here, before Hydra creates the run directory
        prepared(Path(config.hydra.run.dir), config, Plan([carry.choices(config)], [cell]))
        finishing.wait_until_ready()

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        launch.discard()
        finishing.finish(Path(config.hydra.run.dir), bool(config.get("report", True)))
