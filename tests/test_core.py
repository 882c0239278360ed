"""The measuring core: standard library only, real pools, honest records."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.core.cell import measure
from runner.paths import PROJECT_ROOT
from tests.conftest import cell_spec

# The measuring core is every module under runner/core/, plus the leaves it may use: the package's
# lazy __init__ and runner/files.py (the one atomic writer).
CORE = [
    "runner/__init__.py",
    "runner/files.py",
    *sorted(str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "runner" / "core").rglob("*.py")),
    *sorted(str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "workloads").glob("*.py")),
]


def core_module(name: str) -> bool:
    return name in ("runner", "runner.files", "runner.core") or name.startswith(("runner.core.", "workloads"))


FORBIDDEN = ("hydra", "omegaconf", "pandas", "matplotlib", "seaborn", "numpy", "scipy", "rich", "threadpoolctl")
# A workload module may import its own third-party package: only the cells that run it load it.
# The dask executor is not standard library: a cell imports it only when its spec names executor=dask.
OWN_PACKAGE = {"workloads/matmul.py": ("numpy",), "runner/core/executors/dask.py": ("dask", "distributed")}


def imported_modules(path: Path) -> set[str]:
    """What a module imports; a workload's functions may import its own packages (the cells
    that use it are the only ones to pay), so for workloads only the module level counts."""
    tree = ast.parse(path.read_text())
    workload = path.parent.name == "workloads" and path.name != "__init__.py"
    nodes = ast.walk(tree) if not workload else (n for top in tree.body if not _is_def(top) for n in ast.walk(top))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _is_def(node: ast.stmt) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_only_the_standard_library(module: str) -> None:
    for name in imported_modules(PROJECT_ROOT / module):
        top = name.split(".")[0]
        if top in ("runner", "workloads"):
            assert core_module(name), f"{module} imports {name}"
        elif top not in OWN_PACKAGE.get(module, ()):
            assert top in sys.stdlib_module_names or top == "__future__", f"{module} imports {name}"


def test_a_running_cell_loads_none_of_the_runner_dependencies(tmp_path: Path) -> None:
    spec = cell_spec(executor={"name": "process", "options": {}}, start_method="spawn", workers=2)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    probe = (
        "import sys, json; from runner.core.cell import measure; "
        f"r = measure(json.load(open({str(tmp_path / 'spec.json')!r}))); "
        f"print(json.dumps([r['status'], sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    status, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert status == "ok"
    assert loaded == []


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_each_start_method_runs_a_real_pool(method: str) -> None:
    spec = cell_spec(
        executor={"name": "process", "options": {}},
        start_method=method,
        workers=2,
        workload={"name": "sleep", "tasks": 6, "params": {"seconds": 0.05}, "fail_rate": 0.0},
    )
    result = measure(spec)
    assert result["status"] == "ok", result["message"]
    for rep in result["reps"]:
        pids = {t[1] for t in rep["tasks"]}
        assert os.getpid() not in pids
        assert len(pids) == 2  # six 50 ms tasks on two ready workers: both take part
        assert rep["startup_s"] > 0
        assert rep["peak_rss_mb"] > 0


def test_warmup_repetitions_are_marked_and_every_task_recorded() -> None:
    result = measure(cell_spec(executor={"name": "thread", "options": {}}, workers=2, warmup=2, repeats=3))
    assert [r["warmup"] for r in result["reps"]] == [True, True, False, False, False]
    for rep in result["reps"]:
        assert sorted(t[0] for t in rep["tasks"]) == [0, 1, 2, 3]
        for _i, _pid, _tid, start, end, cpu, ok, _error in rep["tasks"]:
            assert 0 <= start <= end <= rep["wall_s"] + 1e-6
            assert cpu >= 0 and ok


def test_thread_ids_are_the_pool_threads_not_the_cell_thread() -> None:
    import threading

    result = measure(cell_spec(executor={"name": "thread", "options": {}}, workers=2))
    assert threading.get_ident() not in {t[2] for t in result["reps"][0]["tasks"]}


def test_failing_tasks_are_counted_and_the_cell_goes_on() -> None:
    spec = cell_spec(workload={"name": "cpu", "tasks": 40, "params": {"n": 100}, "fail_rate": 0.5})
    result = measure(spec)
    failed = [t for t in result["reps"][0]["tasks"] if not t[6]]
    assert result["status"] == "ok"
    assert 5 < len(failed) < 35
    assert all("fail_rate" in t[7] for t in failed)
    # deterministic: the same seed fails the same tasks in every repetition
    assert {t[0] for t in failed} == {t[0] for t in result["reps"][1]["tasks"] if not t[6]}


def test_the_cell_entry_point_writes_a_result_file(tmp_path: Path) -> None:
    from runner.sweep.launch import run_cell

    result = run_cell(cell_spec(), tmp_path)
    assert result["status"] == "ok"
    assert json.loads((tmp_path / "result.json").read_text())["status"] == "ok"
    assert result["interpreter"]["python"] == ".".join(map(str, sys.version_info[:3]))
