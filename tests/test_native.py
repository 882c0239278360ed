"""Native thread pools: real numpy/OpenBLAS pools, their CPU, their limits, oversubscription."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from runner.core import native
from runner.results import aggregate
from runner.sweep import spec
from runner.sweep.launch import run_cell
from tests.conftest import cell_spec, sweep

# small products: a task takes a few milliseconds, and a 2-thread pool splits each one
MATMUL = {"name": "matmul", "tasks": 8, "params": {"n": 300, "rounds": 2}, "fail_rate": 0.0}


def matmul_spec(**changes: Any) -> dict[str, Any]:
    return cell_spec(workload=dict(MATMUL), warmup=0, repeats=1, **changes)


def counted(result: dict[str, Any]) -> list[dict[str, Any]]:
    assert result["status"] == "ok", result["message"]
    return [r for r in result["reps"] if not r["warmup"]]


def task_cpu(rep: dict[str, Any]) -> float:
    return float(sum(t[5] for t in rep["tasks"]))


@pytest.mark.alone  # the pool's second thread needs a CPU of its own (1.3x once, beside another test's cells)
def test_the_cpu_of_a_blas_pool_is_counted_beside_the_task_thread(tmp_path: Path) -> None:
    # A fresh interpreter per cell: the limit is the process's for its whole life.
    two = counted(run_cell(matmul_spec(native_threads=2), tmp_path / "two"))[0]
    one = counted(run_cell(matmul_spec(native_threads=1), tmp_path / "one"))[0]
    # the pool's second thread does part of every product, outside the task's thread: more than
    # one native thread's process can show (the bound below)
    assert two["process_cpu_s"] > 1.15 * task_cpu(two) + 0.01
    assert two["native_threads_seen"] == 2 and "blas x2" in two["native_pools"]
    assert two["os_threads"] >= 2
    # one native thread: the task thread is the process (less what a clock tick can blur)
    assert task_cpu(one) <= one["process_cpu_s"] <= 1.15 * task_cpu(one) + 0.01
    assert one["native_threads_seen"] == 1


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_native_threads_limit_every_worker_under_each_start_method(method: str, tmp_path: Path) -> None:
    for threads in (1, 3):
        spec_ = matmul_spec(executor={"name": "process", "options": {}}, start_method=method, workers=2)
        rep = counted(run_cell({**spec_, "native_threads": threads}, tmp_path / str(threads)))[0]
        assert rep["native_threads_seen"] == threads, rep["native_pools"]
        assert rep["native_pools"].endswith(f"x{threads}")  # one size in every worker
        assert len({t[1] for t in rep["tasks"]}) == 2


@pytest.mark.parametrize(
    "executor",
    [
        {"name": "serial", "options": {}},
        {"name": "thread", "options": {}},
        {"name": "process", "options": {}},
        {"name": "thread_per_task", "options": {}},
        {"name": "process_per_task", "options": {}},
        {"name": "asyncio", "options": {}},
    ],
)
def test_every_executor_reports_the_cpu_of_its_processes(executor: dict[str, Any], tmp_path: Path) -> None:
    cpu = {"name": "cpu", "tasks": 4, "params": {"n": 20000}, "fail_rate": 0.0}
    # a fresh interpreter, as every cell has: this test's own process has numpy's pool loaded
    result = run_cell(cell_spec(executor=executor, workers=2, start_method="fork", workload=cpu, warmup=0), tmp_path)
    for rep in counted(result):
        # all threads of the processes that ran tasks, over the tasks' spans: at least the tasks' own CPU
        assert rep["process_cpu_s"] >= 0.95 * task_cpu(rep) - 0.005
        assert rep["native_pools"] == "" and rep["native_threads_seen"] is None  # pure Python has none
        assert rep["os_threads"] >= 1


def _summary(result: dict[str, Any], spec_: dict[str, Any], cores: int) -> pd.Series:
    record = {"spec": spec_, "result": result, "cell": spec.cell_id(spec_), "baseline": "b", "round": 0}
    results, _ = aggregate.frames([record], "test")
    return aggregate.summary(results, cores).iloc[0]


def test_workers_times_native_threads_beyond_the_cpus_is_flagged_with_its_arithmetic(tmp_path: Path) -> None:
    process = matmul_spec(executor={"name": "process", "options": {}}, start_method="fork", workers=2)
    over = {**process, "native_threads": 2}
    row = _summary(run_cell(over, tmp_path / "over"), over, cores=2)
    assert row["oversubscribed"]
    assert row["oversubscription"] == "2 in flight x 2 native threads = 4 > 2 CPUs"
    assert row["native_threads"] == "2" and row["native_threads_used"] == 2
    fits = {**process, "native_threads": 1}
    row = _summary(run_cell(fits, tmp_path / "fits"), fits, cores=2)
    assert not row["oversubscribed"] and row["oversubscription"] == ""
    # one native thread per task is plain work, however many workers
    assert aggregate.oversubscription(8, 1.0, 2) == ""


@pytest.mark.alone  # a CPU share: it read 0.73 once in a run beside other tests
def test_the_share_of_cpu_outside_the_task_threads_is_the_native_pools(tmp_path: Path) -> None:
    shares = {}
    for threads in (2, 1):
        over = matmul_spec(native_threads=threads)
        record = {"spec": over, "result": run_cell(over, tmp_path / str(threads)), "cell": "c", "round": 0}
        results, _ = aggregate.frames([{**record, "baseline": "b"}], "test")
        shares[threads] = float(results["outside_cpu_share"].median())
    # two BLAS threads split each product: about half the CPU is the second one's
    assert 0.2 < shares[2] < 0.7
    assert shares[1] < 0.15


def test_the_libraries_default_pools_oversubscribe_processes_unasked(tmp_path: Path) -> None:
    """No native_threads set: each process's OpenBLAS starts a pool as wide as the machine."""
    cores = native.usable_cpus()
    process = matmul_spec(executor={"name": "process", "options": {}}, start_method="fork", workers=2)
    result = run_cell(process, tmp_path)
    seen = counted(result)[0]["native_threads_seen"]
    assert seen and seen >= 1
    row = _summary(result, process, cores=cores)
    assert row["native_threads"] == "" or pd.isna(row["native_threads"])
    assert bool(row["oversubscribed"]) == (seen > 1 and 2 * seen > cores)
    if seen > 1 and 2 * seen > cores:
        assert row["oversubscription"] == f"2 in flight x {seen} native threads = {2 * seen} > {cores} CPUs"


def test_auto_shares_the_cpus_among_the_tasks_in_flight() -> None:
    cpus = native.usable_cpus()
    assert native.resolve(native.AUTO, 1) == cpus
    assert native.resolve(native.AUTO, cpus * 4) == 1
    assert native.resolve(3, 2) == 3 and native.resolve(None, 2) is None
    assert [native.parse(v) for v in (None, "", "auto", "2", 2)] == [None, None, "auto", 2, 2]
    for bad in ("0", "-1", "x", 1.5, True):
        with pytest.raises(ValueError, match="allowed: auto or an integer"):
            native.parse(bad)


def test_native_threads_joins_a_cells_identity_only_when_set() -> None:
    base = cell_spec()
    # a cell measured before the axis existed (no key) keeps its id: old sweeps resume
    legacy = {k: v for k, v in base.items() if k != "native_threads"}
    assert spec.cell_id(legacy) == spec.cell_id({**base, "native_threads": None})
    ids = {spec.cell_id({**base, "native_threads": v}) for v in (None, 1, 2, "auto")}
    assert len(ids) == 4


@pytest.mark.slow
def test_a_sweep_flags_oversubscription_in_terminal_csv_and_report(tmp_path: Path) -> None:
    threads = native.usable_cpus() + 1  # two workers of this many always exceed the CPUs
    root, proc = sweep(
        tmp_path,
        "workload=matmul",
        "workload.tasks=4",
        "workload.params.n=200",
        "workload.params.rounds=1",
        "executor=process",
        "workers=2",
        f"native_threads={threads},1",
        "repeats=1",
        "warmup=0",
    )
    summary = pd.read_csv(root / "summary.csv")
    process = summary[summary["executor"] == "process"].set_index("native_threads")
    assert bool(process.loc[threads, "oversubscribed"]) and not bool(process.loc[1, "oversubscribed"])
    arithmetic = f"2 in flight x {threads} native threads = {2 * threads} > {native.usable_cpus()} CPUs"
    assert process.loc[threads, "oversubscription"] == arithmetic
    assert arithmetic in proc.stdout
    assert arithmetic in (root / "report.md").read_text()
    results = pd.read_csv(root / "results.csv")
    assert {"process_cpu_s", "outside_cpu_share", "native_pools", "native_threads_seen", "os_threads"} <= set(results)
    env = (root / "environment.json").read_text()
    assert "native_pools_seen" in env and "blas" in env
