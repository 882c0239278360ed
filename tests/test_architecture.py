"""The layout is the design: these checks fail when a change breaks it.

runner/core runs in the cell (stdlib only, tests/test_core.py), runner/results turns files into
tables, runner/claims judges them, runner/report shows them, runner/sweep drives Hydra; the
modules at the top (console, cli, compare, replay) may use any of them.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from runner.paths import PROJECT_ROOT

RUNNER = PROJECT_ROOT / "runner"
MODULES = sorted(RUNNER.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


NAMES = {module_name(p): p for p in MODULES}


def imports(path: Path) -> set[str]:
    """The runner modules ``path`` imports anywhere in it (function-level imports included),
    each resolved to a module: ``from runner.x import y`` is runner.x.y where that is a module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in NAMES else node.module)
    return {name for name in found if name.split(".")[0] == "runner"}


GRAPH = {name: imports(path) & set(NAMES) for name, path in NAMES.items()}


def test_the_import_graph_sees_every_module() -> None:
    # a guard for the checks below: the graph holds the packages, and its edges are real
    assert {"runner.core.cell", "runner.sweep.app", "runner.results.aggregate", "runner.report.sections"} <= set(GRAPH)
    assert "runner.core.executors" in GRAPH["runner.core.cell"]
    assert "runner.report.sections" in GRAPH["runner.sweep.finishing"]  # a function-level import


def test_runner_modules_import_no_cycle() -> None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in sorted(GRAPH[name]):
            if dep == name:
                continue
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep]
                pytest.fail(f"import cycle: {' -> '.join(cycle)}")
            if dep not in state:
                visit(dep, [*path, dep])
        state[name] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])


# What each layer may not import (its prefix, then the prefixes it must not reach).
FORBIDDEN = {
    "runner.core": (
        "runner.sweep",
        "runner.results",
        "runner.claims",
        "runner.report",
        "runner.compare",
        "runner.replay",
        "runner.cli",
        "runner.console",
        "runner.paths",
    ),
    "runner.results": (
        "runner.sweep",
        "runner.claims",
        "runner.report",
        "runner.compare",
        "runner.replay",
        "runner.cli",
        "runner.console",
    ),
    "runner.claims": (
        "runner.sweep",
        "runner.report",
        "runner.compare",
        "runner.replay",
        "runner.cli",
        "runner.console",
    ),
    "runner.report": ("runner.sweep", "runner.compare", "runner.replay", "runner.cli", "runner.console"),
    "runner.sweep": ("runner.compare", "runner.replay", "runner.cli", "runner.console"),
    "runner.files": ("runner.",),
    "runner.paths": ("runner.",),
    "runner.collector": ("runner.",),
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_downwards(layer: str) -> None:
    members = [n for n in GRAPH if n == layer or n.startswith(f"{layer}.")]
    assert members, layer
    for name in members:
        for dep in GRAPH[name]:
            assert not dep.startswith(FORBIDDEN[layer]), f"{name} imports {dep}"


@pytest.mark.parametrize("leaf", ["runner/files.py", "runner/paths.py", "runner/collector.py"])
def test_the_shared_leaves_are_standard_library(leaf: str) -> None:
    for node in ast.walk(ast.parse((PROJECT_ROOT / leaf).read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        names += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        for name in names:
            assert name.split(".")[0] in sys.stdlib_module_names or name == "__future__", f"{leaf} imports {name}"


# Calls that write a file, other than through runner/files.py: os.replace and os.rename, a Path's
# write_text and write_bytes, a Path's rename, shutil's copies and moves, a DataFrame's to_csv to a
# path, a figure's savefig to a path, json.dump, open() to write.
FILE_WRITES = {"write_text", "write_bytes", "rename", "to_json", "to_parquet"}
MODULE_WRITES = {
    ("os", "replace"),
    ("os", "rename"),
    ("json", "dump"),
    ("shutil", "copy"),
    ("shutil", "copyfile"),
    ("shutil", "copy2"),
    ("shutil", "move"),
    ("shutil", "copytree"),
}
# The cell's stdout and stderr are the child process's streams, not files the lab writes whole.
STREAMS = "runner/sweep/launch.py"


def writes(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
        keywords = {k.arg for k in node.keywords}
        where = f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}"
        if (owner, name) in MODULE_WRITES or (name in FILE_WRITES and owner != "files"):
            found.append(f"{where} {owner or '...'}.{name}()")
        elif name == "savefig" and "format" not in keywords:  # with a format, into a buffer files.py writes
            found.append(f"{where} savefig()")
        elif name == "to_csv" and (node.args or "path_or_buf" in keywords):
            found.append(f"{where} to_csv(path)")
        elif name == "open":
            mode = (
                node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
            )
            if isinstance(mode, ast.Constant) and any(c in str(mode.value) for c in "wax+"):
                found.append(f"{where} open({mode.value!r})")
    return found


def test_one_atomic_writer() -> None:
    found = [w for p in MODULES if p != RUNNER / "files.py" for w in writes(p)]
    found = [w for w in found if not (w.startswith(STREAMS) and w.endswith("open('wb')"))]
    assert not found, f"write through runner/files.py: {found}"
    assert writes(RUNNER / "files.py"), "the check sees the writer itself"


def test_hydra_internals_are_imported_in_one_module() -> None:
    users = sorted(
        str(p.relative_to(PROJECT_ROOT))
        for p in MODULES
        if "hydra._internal" in p.read_text() and "import" in p.read_text()
    )
    assert users == ["runner/sweep/hydra_internals.py"]


def test_every_executor_module_is_in_the_registry_and_every_entry_resolves() -> None:
    from runner.core.executors import EXECUTORS, base

    folder = RUNNER / "core" / "executors"
    modules = {p.stem for p in folder.glob("*.py")} - {"__init__", "base"}
    named = {ref.partition(":")[0] for e in EXECUTORS.values() for ref in (e.start_ref, e.refuses_ref) if ref}
    assert modules == named
    for executor in EXECUTORS.values():
        if executor.name != "dask":  # its module imports dask's packages only when a pool starts
            assert callable(base._resolve(executor.start_ref))
        assert executor.name not in executor.others and len(executor.others) == len(EXECUTORS) - 1


def test_every_figure_module_is_in_the_registry() -> None:
    from runner.report import plots

    folder = RUNNER / "report" / "plots"
    # compare: compare's figure, not the report's; kept: which figures need no drawing;
    # fitting: the speedup figure's fits, in a process of their own
    helpers = {"__init__", "common", "figure", "kept", "compare", "fitting"}
    modules = {p.stem for p in folder.glob("*.py")} - helpers
    registered = {f.paint.__module__.rpartition(".")[2] for f in plots.FIGURES}
    assert modules == registered
    assert sorted(plots.ORDER) == sorted(f.name for f in plots.FIGURES)
