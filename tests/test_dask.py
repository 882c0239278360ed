"""executor=dask against a real scheduler and workers on 127.0.0.1, and embedded."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from runner.paths import PROJECT_ROOT
from tests.conftest import sweep

pytestmark = pytest.mark.slow
QUICK = ["workload=sleep", "workload.tasks=6", "workload.params.seconds=0.05", "repeats=2", "warmup=0", "report=false"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[int]]]:
    """A dask scheduler and two single-threaded workers, as `dask scheduler` / `dask worker` start them."""
    from distributed import Client

    logs = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    # workers import the lab's task wrapper and workloads, as a real cluster's would from its environment
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    port = address.rsplit(":", 1)[1]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                port,
                "--dashboard-address",
                ":0",
                "--no-show",
            ],
            env=env,
            cwd=logs,
            stdout=subprocess.DEVNULL,
            stderr=(logs / "scheduler.log").open("w"),
        )
    ]
    for n in range(2):
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    address,
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--local-directory",
                    str(logs / f"w{n}"),
                ],
                env=env,
                cwd=logs,
                stdout=subprocess.DEVNULL,
                stderr=(logs / f"worker{n}.log").open("w"),
            )
        )
    try:
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
            pids = list(client.run(os.getpid).values())
        yield address, pids
    finally:
        for proc in reversed(procs):
            proc.kill()  # nothing is read after the tests: a graceful close only costs seconds
        for proc in procs:
            proc.wait(timeout=60)


@pytest.mark.alone
def test_a_running_cluster_measured_through_its_address(cluster: tuple[str, list[int]], tmp_path: Path) -> None:
    address, worker_pids = cluster
    root, _proc = sweep(
        tmp_path,
        *QUICK,
        "workload.params.seconds=0.2",  # long beside a dask task's dispatch on a slow shared VM
        "executor=dask",
        f"executor.address={address}",
        "workers=2",
    )
    results = pd.read_csv(root / "results.csv")
    dask = results[results["executor"] == "dask"]
    assert set(dask["status"]) == {"ok"} and len(dask) == 2
    assert set(dask["dask_workers"]) == {2} and set(dask["dask_threads"]) == {2}
    assert set(dask["executor.address"]) == {address}
    tasks = pd.read_csv(root / "tasks.csv")
    ran_on = set(tasks[tasks["cell"].isin(dask["cell"])]["pid"])
    assert ran_on == set(worker_pids)  # the cluster's workers ran every task, not the cell
    # six 0.2 s sleeps on two single-threaded workers: about three rounds, not six
    assert dask["speedup"].median() > 1.4
    # the CPU of the worker processes that ran the tasks, all their threads: at least the tasks' own
    assert (dask["process_cpu_s"] >= 0.95 * dask["cpu_s"] - 0.005).all()


def test_the_embedded_cluster_needs_no_setup(tmp_path: Path) -> None:
    root, _proc = sweep(
        tmp_path,
        *QUICK,
        "executor=dask",
        "workers=2",
        "start_method=spawn",
        timeout=600,
    )
    dask = pd.read_csv(root / "results.csv").query("executor == 'dask'")
    assert set(dask["status"]) == {"ok"}
    assert set(dask["dask_workers"]) == {2} and set(dask["start_method"]) == {"spawn"}
    assert (dask["startup_s"] > 0.1).all()  # starting a LocalCluster is timed as start-up


def test_without_distributed_executor_dask_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from runner.core.executors import EXECUTORS

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else real(name))
    assert "pip install 'concurrency-lab[dask]'" in (EXECUTORS["dask"].refuses("sleep") or "")
