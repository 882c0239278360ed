"""Shareable experiments: each composes, plans its own grid, and validates every cell before running."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hydra import compose
from omegaconf import DictConfig

from runner.paths import CONF_DIR, PROJECT_ROOT
from runner.sweep import config
from runner.sweep.callbacks import planned_jobs, stored_in, validate
from tests.conftest import busy_of_free, lab

EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))


def plan(overrides: list[str]) -> tuple[DictConfig, list[dict[str, str]]]:
    cfg = compose(config_name="config", overrides=overrides, return_hydra_config=True)
    jobs = [dict(o.split("=", 1) for o in job) for job in planned_jobs(cfg)]
    return cfg, jobs


def test_the_seed_s_groups_of_ideas_each_have_an_experiment() -> None:
    expected = {"gil", "start_methods", "locks", "ipc", "pools", "async", "nesting", "scaling"}
    assert expected <= set(EXPERIMENTS)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_plans_its_own_grid_and_every_cell_validates(compose_cfg, name: str, tmp_path: Path) -> None:
    cfg, jobs = plan([f"+experiment={name}"])
    text = (CONF_DIR / "experiment" / f"{name}.yaml").read_text()
    assert text.startswith("# @package _global_\n")
    assert "?" in text.split("defaults:")[0], "the header comment says which question it answers"
    assert cfg.hydra.sweeper.params.workload != "cpu,sleep", "an experiment replaces the default workload axis"
    assert len(jobs) > 1
    validated = validate(cfg, planned_jobs(cfg))
    # a minute or two on two cores: a few dozen cells at most
    assert 1 < validated.cells == len(validated.planned) <= 30
    stored = stored_in(tmp_path, validated.planned)
    assert validated.cells <= len(stored) <= 2 * validated.cells  # and their serial baselines
    assert f"| `{name}` |" in (PROJECT_ROOT / "README.md").read_text()


def test_the_command_line_narrows_an_experiment(compose_cfg) -> None:
    _, jobs = plan(["+experiment=gil", "workers=1"])
    assert {job["workers"] for job in jobs} == {"1"}
    assert {job["workload"] for job in jobs} == {"cpu", "gil_release", "sleep"}


@pytest.mark.parametrize(
    ("cores", "factor", "expected"),
    [(1, 2, "1,2"), (2, 2, "1,2,4"), (3, 2, "1,2,4,6"), (16, 2, "1,2,4,8,16,32"), (6, 1, "1,2,4,6")],
)
def test_doubling_reaches_factor_times_the_cores(
    monkeypatch: pytest.MonkeyPatch, cores: int, factor: int, expected: str
) -> None:
    monkeypatch.setattr(config, "cores", lambda: cores)
    assert config.doubling(factor) == expected


def test_scaling_sweeps_workers_up_to_twice_the_cores_of_this_machine(compose_cfg) -> None:
    _, jobs = plan(["+experiment=scaling"])
    counts = sorted({int(job["workers"]) for job in jobs})
    assert counts == [int(w) for w in config.doubling().split(",")]
    assert counts[-1] == 2 * config.cores()


def test_any_sweep_can_double_workers_up_to_the_cores(compose_cfg) -> None:
    _, jobs = plan(["+hydra.sweeper.params.workers=${lab.doubling:}", "executor=thread"])
    assert sorted({int(job["workers"]) for job in jobs}) == [int(w) for w in config.doubling().split(",")]


@pytest.mark.slow
def test_scaling_runs_end_to_end(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    tiny = ["workload.tasks=4", "workload.params.n=2000", "repeats=1", "warmup=0"]
    proc = lab("-m", "+experiment=scaling", *tiny, f"hydra.sweep.dir={root}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = pd.read_csv(root / "summary.csv")
    assert set(summary["status"]) == {"ok"}
    workers = sorted(summary[summary["executor"] == "process"]["workers"])
    assert workers == [int(w) for w in config.doubling().split(",")]


@pytest.mark.slow
def test_the_gil_experiment_shows_the_gil(tmp_path: Path) -> None:
    """+experiment=gil as shared, made smaller: flat threads for cpu, rising for gil_release and sleep."""
    root = tmp_path / "sweep"
    args = ["workload.tasks=16", "repeats=2", "warmup=0", f"hydra.sweep.dir={root}"]
    proc = lab("-m", "+experiment=gil", *args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = pd.read_csv(root / "summary.csv")
    assert set(summary["status"]) == {"ok"}
    assert len(summary) == 3 * (1 + 3 + 3)
    cell = summary.set_index(["workload", "executor", "workers"])
    assert (cell.loc[("cpu", "thread"), "parallelism_median"] <= 1.2).all()
    assert cell.loc[("sleep", "thread", 4), "speedup_median"] >= 2.5
    # hashing releases the GIL: its threads keep the CPUs busy, pure Python's one at most (CPUs
    # busy, not speedup, which divides by a baseline timed at another moment of a shared machine)
    assert busy_of_free(root, "gil_release", "thread") >= 0.65
    assert (root / "plots" / "speedup.png").stat().st_size > 0
