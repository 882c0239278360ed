"""The python axis: cells measured under other interpreters, found here, never faked."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd
import pytest

from runner.core.cell import measure
from runner.sweep import pythons as interpreters
from tests.conftest import cell_spec, lab

OTHERS = [v for v in interpreters.found_here() if v != f"{sys.version_info[0]}.{sys.version_info[1]}"]


def test_this_interpreter_is_the_default() -> None:
    assert interpreters.resolve("") == sys.executable


def test_a_version_resolves_to_an_interpreter_of_that_version() -> None:
    for version in interpreters.found_here():
        info = interpreters.probe(interpreters.resolve(version))
        assert info["version"].startswith(version + ".")


def test_python_3_1_means_3_10_because_yaml_reads_3_10_as_a_number() -> None:
    if "3.10" not in interpreters.found_here():
        pytest.skip("no Python 3.10 on this machine")  # absent interpreters are skipped, never faked
    assert interpreters.resolve("3.1") == interpreters.resolve("3.10")


@pytest.mark.parametrize("requested", ["3.9", "3.2", "2.7"])
def test_a_version_older_than_the_core_runs_on_is_named_as_typed(requested: str) -> None:
    # only 3.1 is read as 3.10 (YAML's number); 3.9 is Python 3.9, whether or not it is installed
    older = rf"^python: {re.escape(requested)} is older .* from 3\.10 on"
    with pytest.raises(interpreters.InterpreterError, match=older):
        interpreters.resolve(requested)


@pytest.mark.parametrize("requested", ["3.99", "/no/such/python", "2.7"])
def test_missing_or_too_old_interpreters_are_one_line_errors(tmp_path: Path, requested: str) -> None:
    proc = lab(f"python={requested}", f"hydra.run.dir={tmp_path / 'out'}", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: python: ") and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_gil_on_a_build_with_the_gil_is_a_clear_error(tmp_path: Path) -> None:
    proc = lab("gil=0", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: gil: ") and "not a free-threaded build" in proc.stderr


def test_switch_interval_reaches_threads_and_process_workers() -> None:
    for executor, method in (("thread", ""), ("process", "spawn")):
        spec = cell_spec(
            workload={"name": "cpu", "tasks": 4, "params": {"n": 10}, "fail_rate": 0.0},
            executor={"name": executor, "options": {}},
            start_method=method,
            workers=2,
            switch_interval=0.0005,
        )
        assert measure(spec)["status"] == "ok"
    from runner.core import task

    record = task.Task("workloads.cpu:run", {"n": 10}, 0, 0.0, switch_interval=0.0005)(0)
    assert record[6] and sys.getswitchinterval() == pytest.approx(0.0005)
    sys.setswitchinterval(0.005)


@pytest.mark.slow
@pytest.mark.skipif(len(OTHERS) < 2, reason="needs two other interpreters (pyenv's 3.10-3.13 here)")
def test_a_sweep_over_interpreters_records_each_one(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    versions = [*OTHERS[-2:], f"{sys.version_info[0]}.{sys.version_info[1]}"]
    proc = lab(
        "-m",
        f"python={','.join(versions)}",
        "executor=thread,process",
        "workers=1,2",
        "workload=sleep",
        "workload.tasks=4",
        "workload.params.seconds=0.005",
        "repeats=2",
        "warmup=0",
        "report=false",
        f"hydra.sweep.dir={root}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    results = pd.read_csv(root / "results.csv", dtype={"python": str})
    assert set(results["status"]) == {"ok"}
    assert sorted({v.rsplit(".", 1)[0] for v in results["python"]}) == sorted(versions)
    assert set(results["gil"]) == {True} and set(results["implementation"]) == {"CPython"}
    # each interpreter has its own serial baseline
    assert results.groupby("python")["baseline"].nunique().eq(1).all()
    assert results["baseline"].nunique() == len(versions)


@pytest.mark.slow
@pytest.mark.skipif(len(OTHERS) < 2, reason="needs two other interpreters (pyenv's 3.10-3.13 here)")
def test_compare_two_interpreters(tmp_path: Path) -> None:
    import subprocess

    first, second = OTHERS[-2:]
    roots = []
    for version in (first, second):
        root = tmp_path / version
        proc = lab(
            "-m",
            f"python={version}",
            "executor=thread,process",
            "workers=1,2",
            "workload=sleep",
            "workload.tasks=4",
            "workload.params.seconds=0.005",
            "repeats=3",
            "warmup=0",
            "report=false",  # compare reads the tables
            f"hydra.sweep.dir={root}",
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        roots.append(root)
    proc = subprocess.run(
        [sys.executable, "-m", "runner.compare", *map(str, roots), "--measure", "wall_s"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"differs: python {interpreters.probe(interpreters.resolve(first))['version']}" in proc.stdout
    assert (roots[1] / "compare" / "compare.md").exists()


def test_an_executor_is_refused_for_what_the_cells_interpreter_lacks_not_the_sweeps(tmp_path: Path) -> None:
    # another interpreter: this one behind a wrapper whose site hides dask.distributed
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "sitecustomize.py").write_text("import sys\nsys.modules['distributed'] = None\n")
    other = tmp_path / "python"
    other.write_text(f'#!/bin/sh\nPYTHONPATH="{hidden}:$PYTHONPATH" exec "{sys.executable}" "$@"\n')
    other.chmod(0o755)
    assert interpreters.refusal(sys.executable, "dask", "sleep") is None
    said = interpreters.refusal(str(other), "dask", "sleep")
    assert said == "dask needs dask.distributed, an optional extra; allowed: pip install 'concurrency-lab[dask]'"
    # a workload refusal is the same wherever it is asked
    here = interpreters.refusal(sys.executable, "asyncio", "counter")  # no coroutine form
    assert here is not None and interpreters.refusal(str(other), "asyncio", "counter") == here
