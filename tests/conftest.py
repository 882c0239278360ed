from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from runner.core.native import usable_cpus
from runner.paths import CONF_DIR, PROJECT_ROOT
from runner.results.aggregate import others_share
from runner.sweep import config

# The tests' own cache of figures and fits (runner/cache.py), never the user's; every command a
# test runs inherits it
os.environ["CONCURRENCY_LAB_CACHE"] = tempfile.mkdtemp(prefix="concurrency-lab-cache-")
atexit.register(shutil.rmtree, os.environ["CONCURRENCY_LAB_CACHE"], ignore_errors=True)

# Small enough that a cell takes a fraction of a second on a shared 2-core machine.
TINY = ["workload.tasks=4", "repeats=2", "warmup=0"]
TINY_PARAMS = {"cpu": ["workload.params.n=2000"], "sleep": ["workload.params.seconds=0.001"]}
# Every built-in workload with parameters that make a task take a millisecond or so.
TINY_WORKLOADS: dict[str, dict[str, Any]] = {
    "cpu": {"n": 2000},
    "sleep": {"seconds": 0.001},
    "io": {"kib": 4, "files": 2},
    "gil_release": {"kib": 64},
    "mixed": {"n": 2000, "seconds": 0.001},
    "tiny": {},
    "counter": {"increments": 2000},
    "bounded": {"permits": 2, "seconds": 0.002},
    "threadlocal": {"updates": 1000},
    "payload": {"kib": 16},
    "ipc": {"kib": 4, "messages": 8},
    "nested": {"inner_workers": 2, "inner_tasks": 4, "seconds": 0.001},
    "fault": {"mode": "raise", "at": 1, "seconds": 0.001},
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files in the order xdist hands them out (pyproject.toml keeps it): the docs' commands first,
    the longest files, one of them a single test that would run by itself at the end if started
    last; the files with a test marked ``alone`` last, so that none waits for the lock while the
    docs' chain holds it for minutes."""
    alone = {item.path for item in items if item.get_closest_marker("alone")}
    items.sort(key=lambda item: 0 if item.path.name.startswith("test_docs") else 1 + (item.path in alone))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    """Under pytest-xdist, a test marked ``alone`` holds a lock the other workers' tests share, so
    nothing else runs while it measures; its setup and teardown (module fixtures too) are inside."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run is None:  # one process: every test is alone already
        return (yield)
    with (Path(os.environ.get("TMPDIR", "/tmp")) / f"concurrency-lab-tests-{run}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if item.get_closest_marker("alone") else fcntl.LOCK_SH)
        return (yield)  # closing the file releases the lock


@pytest.fixture
def compose_cfg() -> Iterator[Any]:
    config.register()

    def _compose(overrides: list[str] | None = None) -> DictConfig:
        return compose(config_name="config", overrides=overrides or [])

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        yield _compose


def lab(
    *args: str, cwd: Path | None = None, timeout: float = 300, path: tuple[Path, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m runner ARGS`` as a user would, from ``cwd``; ``path`` goes before the project on sys.path."""
    pythonpath = os.pathsep.join(map(str, [*path, PROJECT_ROOT]))
    env = {**os.environ, "PYTHONPATH": pythonpath, "HYDRA_FULL_ERROR": ""}
    env.pop("HYDRA_FULL_ERROR")
    return subprocess.run(
        [sys.executable, "-m", "runner", *args],
        cwd=cwd or PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def sweep(tmp_path: Path, *args: str, timeout: float = 300) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """``python -m runner -m ARGS`` into ``tmp_path/sweep``, which must succeed."""
    root = tmp_path / "sweep"
    proc = lab("-m", *args, f"hydra.sweep.dir={root}", cwd=tmp_path, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return root, proc


def busy_of_free(root: Path, workload: str, executor: str) -> float:
    """How much of the CPU left to it a pool kept busy: per repetition, its parallelism over the
    CPUs it could have had (its workers, at most the machine's less what other programs and the
    hypervisor took meanwhile, by the lab's own probes); the median per worker count above one,
    the best of those. A neighbour that takes a CPU of a shared machine moves parallelism, not this.
    """
    results = pd.read_csv(root / "results.csv")
    rows = results[(results["workload"] == workload) & (results["executor"] == executor) & (results["workers"] > 1)]
    assert len(rows), (workload, executor)
    cores = usable_cpus()
    others = others_share(rows, cores).fillna(0)  # unknown (too short for /proc/stat's ticks): none assumed
    free = (cores * (1 - others - rows["steal"].fillna(0))).clip(lower=0.5, upper=rows["workers"])
    share = rows["parallelism"] / free
    return float(share.groupby(rows["workers"]).median().max())


def cell_spec(**changes: Any) -> dict[str, Any]:
    """A valid spec for the measuring core, tiny by default."""
    spec: dict[str, Any] = {
        "schema": 1,
        "workload": {"name": "cpu", "tasks": 4, "params": {"n": 2000}, "fail_rate": 0.0},
        "executor": {"name": "serial", "options": {}},
        "start_method": "",
        "workers": 1,
        "repeats": 2,
        "warmup": 1,
        "seed": 0,
        "python": sys.executable,
        "gil": None,
        "switch_interval": None,
        "timeout_s": 60.0,
    }
    spec.update(changes)
    return spec


def workload_spec(name: str, tasks: int = 4, fail_rate: float = 0.0, **changes: Any) -> dict[str, Any]:
    """``cell_spec`` for a built-in workload at its tiny parameters (``params=`` replaces them)."""
    params = changes.pop("params", TINY_WORKLOADS[name])
    workload = {"name": name, "tasks": tasks, "params": dict(params), "fail_rate": fail_rate}
    return cell_spec(workload=workload, **changes)


def small_design(**changes: Any) -> Any:
    """A synthetic sweep small enough to draw in a second: 2 workloads x serial/thread/process
    x 1, 2, 4 workers x fork/spawn, 3 repetitions (benchmarks/synthetic.py)."""
    from benchmarks.synthetic import Design

    design = Design(
        workloads=[("cpu", {"n": 200000}), ("sleep", {"seconds": 0.02})],
        executors=["serial", "thread", "process"],
        workers=[1, 2, 4],
        methods=["fork", "spawn"],
        tasks=8,
        cores=2,
    )
    for key, value in changes.items():
        setattr(design, key, value)
    return design


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    """A fresh synthetic sweep directory (no report yet) for each test that changes it."""
    from benchmarks.synthetic import make_sweep

    return make_sweep(tmp_path / "sweep", small_design())
