"""Every executor, real pools under every start method, and what each one promises."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest

import workloads
from runner.core.cell import bind, measure
from runner.core.executors import EXECUTORS
from runner.core.executors.aio import with_coroutine_form
from runner.sweep import pythons as interpreters
from runner.sweep import spec
from runner.sweep.validate import plain
from tests.conftest import TINY_WORKLOADS, lab, workload_spec

METHODS = multiprocessing.get_all_start_methods()
# Figures an executor or workload adds to results.csv must not shadow the lab's own columns.
CORE_COLUMNS = {
    "schema", "sweep", "cell", "baseline", "round", "workload", "executor", "start_method", "workers", "python",
    "gil", "tasks", "fail_rate", "rep", "wall_s", "startup_s", "cpu_s", "parallelism", "throughput",
    "peak_rss_mb", "errors", "status", "message", "speedup", "efficiency",
}  # fmt: skip
IN_CELL_PROCESS = {"serial", "thread", "thread_per_task", "asyncio", "interpreter"}


def combinations() -> list[tuple[str, str]]:
    return [
        (name, method)
        for name, executor in EXECUTORS.items()
        for method in (METHODS if executor.uses_start_method else ["fork"])
        if executor.refuses("sleep") is None or name == "asyncio"
    ]


def runs_under(executor: str, workload: str) -> bool:
    return EXECUTORS[executor].refuses(workload) is None


@pytest.mark.parametrize(("executor", "method"), combinations())
def test_every_workload_runs_under_every_executor_and_start_method(executor: str, method: str) -> None:
    """One real pool per executor and start method runs a few tasks of every workload it can."""
    names = [w for w in TINY_WORKLOADS if runs_under(executor, w)]
    specs = {w: workload_spec(w, tasks=3, executor={"name": executor, "options": {}}) for w in names}
    for w in names:  # as the cell does before a pool starts
        setup = workloads.companion(workloads.reference(w), "setup")
        if setup is not None:
            setup(**specs[w]["workload"]["params"])
    pool = EXECUTORS[executor].start(2, method, {})
    try:
        for w in names:
            records = pool.run(bind(specs[w]), range(3))
            failed = {r[0]: r[7] for r in records if not r[6]}
            assert failed == ({1: failed.get(1)} if w == "fault" else {}), f"{w}: {failed}"
            assert sorted(r[0] for r in records) == [0, 1, 2]
            assert all(0 <= r[5] <= r[4] - r[3] + 0.05 for r in records), w  # CPU within its own wall time
            in_cell = {r[1] for r in records} == {os.getpid()}
            assert in_cell == (executor in IN_CELL_PROCESS), w
            summarize = workloads.companion(workloads.reference(w), "summarize")
            if summarize is not None:
                figures = summarize([r[8] if r[6] else None for r in records], **specs[w]["workload"]["params"])
                assert figures and not set(figures) & CORE_COLUMNS, w
        assert not set(pool.metrics()) & CORE_COLUMNS
    finally:
        pool.close()


@pytest.mark.parametrize("name", list(EXECUTORS))
def test_only_process_based_executors_keep_the_start_method(compose_cfg, name: str) -> None:
    for method in METHODS:
        cfg = compose_cfg([f"executor={name}", f"start_method={method}", "workload=sleep"])
        if EXECUTORS[name].refuses("sleep") is not None:
            continue
        built = spec.build(plain(cfg))
        process_based = name in {"process", "mp_pool", "process_per_task", "dask"}
        assert built["start_method"] == (method if process_based else "")


# a timing: a test on the other xdist worker made a new thread take 1.6 ms to start (a full run, 2026-12-06)
@pytest.mark.alone
def test_a_new_thread_per_task_starts_far_faster_than_a_new_process() -> None:
    startup = {}
    for executor in ("thread_per_task", "process_per_task"):
        result = measure(
            workload_spec("tiny", tasks=12, executor={"name": executor, "options": {}}, workers=2, start_method="fork")
        )
        assert result["status"] == "ok", result["message"]
        startup[executor] = min(rep["metrics"]["task_startup_s"] for rep in result["reps"])
        assert startup[executor] > 0
    # a fork costs milliseconds, a thread tens of microseconds: a factor of 5 is a wide margin
    assert startup["thread_per_task"] * 5 < startup["process_per_task"], startup


@pytest.mark.parametrize("executor", ["thread_per_task", "process_per_task"])
def test_per_task_executors_run_at_most_workers_tasks_at_once(executor: str) -> None:
    result = measure(
        workload_spec(
            "sleep",
            tasks=6,
            # long beside a forked process's start on a loaded machine, so the three overlap
            params={"seconds": 0.3},
            executor={"name": executor, "options": {}},
            workers=3,
            start_method="fork",
        )
    )
    assert result["status"] == "ok", result["message"]
    for rep in result["reps"]:
        assert max_overlap(rep["tasks"]) == 3
        if executor == "process_per_task":  # (a thread's id is reused once it ends; a pid is not, this soon)
            assert len({t[1] for t in rep["tasks"]}) == 6


def max_overlap(tasks: list[list[Any]]) -> int:
    events = sorted([(t[3], 1) for t in tasks] + [(t[4], -1) for t in tasks], key=lambda e: (e[0], e[1]))
    inside = peak = 0
    for _, step in events:
        inside += step
        peak = max(peak, inside)
    return peak


@pytest.mark.alone
def test_asyncio_keeps_workers_coroutines_in_flight_on_one_thread() -> None:
    result = measure(
        workload_spec(
            "sleep", tasks=12, params={"seconds": 0.05}, executor={"name": "asyncio", "options": {}}, workers=4
        )
    )
    assert result["status"] == "ok", result["message"]
    for rep in result["reps"]:
        assert max_overlap(rep["tasks"]) == 4
        assert {(t[1], t[2]) for t in rep["tasks"]} == {(os.getpid(), rep["tasks"][0][2])}
        assert rep["wall_s"] < 12 * 0.05 / 2  # overlapped: well under the serial 0.6 s
        # each coroutine is charged its own steps, not the time it spent awaiting
        assert all(t[5] < 0.02 for t in rep["tasks"])


@pytest.mark.alone
def test_asyncio_gives_cpu_work_no_parallelism() -> None:
    result = measure(
        workload_spec("cpu", tasks=8, params={"n": 20_000}, executor={"name": "asyncio", "options": {}}, workers=4)
    )
    for rep in result["reps"]:
        cpu = sum(t[5] for t in rep["tasks"])
        assert cpu / rep["wall_s"] <= 1.05
        assert cpu > 0.5 * rep["wall_s"]  # the steps were charged to their coroutines


def test_asyncio_refuses_a_workload_without_a_coroutine_form(compose_cfg) -> None:
    with pytest.raises(spec.SpecError, match=r"^executor: asyncio .* 'counter' has none; allowed: workloads .*sleep"):
        spec.build(plain(compose_cfg(["executor=asyncio", "workload=counter"])))
    assert {"cpu", "sleep", "io", "mixed", "tiny"} <= set(with_coroutine_form())


def test_a_sweep_with_a_refused_cell_stops_before_measuring(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    proc = lab("-m", "executor=asyncio", "workload=sleep,counter", f"hydra.sweep.dir={root}", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("error: executor: asyncio")
    assert not (root / "cells").exists()


def test_the_interpreter_executor_says_what_it_needs(compose_cfg) -> None:
    refusal = EXECUTORS["interpreter"].refuses("cpu")
    if refusal is None:
        pytest.skip("this Python has a subinterpreter pool; test_the_interpreter_executor_runs covers it")
    assert "3.14" in refusal and "interpreters-pep-734" in refusal
    with pytest.raises(spec.SpecError, match=r"^executor: interpreter needs .*; allowed: executors serial, thread"):
        spec.build(plain(compose_cfg(["executor=interpreter"])))


def subinterpreter_python() -> str | None:
    """A Python with a subinterpreter pool: the one LAB_SUBINTERPRETER_PYTHON names, this one, or
    one found here (pyenv, PATH) that has it, as the validation asks it."""
    named = os.environ.get("LAB_SUBINTERPRETER_PYTHON")
    if named:
        return named
    for version in ["", *reversed(interpreters.found_here())]:
        try:
            path = interpreters.resolve(version)
        except interpreters.InterpreterError:
            continue
        if interpreters.refusal(path, "interpreter", "cpu") is None:
            return path
    return None


@pytest.mark.skipif(
    subinterpreter_python() is None,
    reason="needs Python 3.14, or a 3.12/3.13 with interpreters-pep-734 (here, or named by LAB_SUBINTERPRETER_PYTHON)",
)
def test_the_interpreter_executor_runs(tmp_path: Path) -> None:
    from runner.sweep.launch import run_cell

    python = subinterpreter_python()
    assert python is not None
    for name, params in (("sleep", {"seconds": 0.05}), ("counter", {"increments": 1000}), ("fault", None)):
        cell = workload_spec(
            name,
            tasks=6,
            params=params or TINY_WORKLOADS[name],
            executor={"name": "interpreter", "options": {}},
            workers=2,
            python=python,
        )
        result = run_cell(cell, tmp_path / name)
        assert result["status"] == "ok", result.get("traceback", result["message"])
        for rep in result["reps"]:
            assert len({t[1] for t in rep["tasks"]}) == 1  # one process
            if name == "sleep":  # two worker interpreters, each on its own thread, both at work
                assert len({t[2] for t in rep["tasks"]}) == 2
            assert sum(not t[6] for t in rep["tasks"]) == (1 if name == "fault" else 0)
            # the process's CPU, every interpreter's thread included, covers the tasks' own (issue 11)
            assert rep["process_cpu_s"] >= 0.95 * sum(t[5] for t in rep["tasks"]) - 0.005
            if name == "counter":  # each interpreter has its own modules: the cell's counter never moves
                assert rep["metrics"]["observed_count"] == 0 < rep["metrics"]["expected_count"]
