"""A newcomer's own workload, from the README's "Your own workload" text as written.

The files and commands come out of README.md's code blocks verbatim: the function measured
from its directory (``workload.function=MODULE:FUNCTION``, command line only) and the same
module installed as a package (entry point group concurrency_lab.workloads).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from runner.paths import PROJECT_ROOT
from tests.conftest import lab

TINY = ["workload.tasks=4", "repeats=1", "warmup=0"]
SECTION = re.search(r"\n## Your own workload\n(.*?)\n### ", (PROJECT_ROOT / "README.md").read_text(), re.S)
assert SECTION, "README.md has a 'Your own workload' section"


def readme_files() -> dict[str, str]:
    """path -> text of each block whose first line is a comment naming its file (``# my_workloads/...``)."""
    blocks = re.findall(r"```(?:toml|python)\n(# (\S+)\n.*?)```", SECTION.group(1), re.S)
    return {path: text for text, path in blocks}


def readme_command(prefix: str) -> tuple[str, list[str]]:
    """The ``prefix && python -m runner ...`` line of the section: (prefix's argument, the lab's arguments)."""
    for block in re.findall(r"```bash\n(.*?)```", SECTION.group(1), re.S):
        for line in block.splitlines():
            if line.startswith(prefix):
                first, _, command = line.partition(" && ")
                args = shlex.split(command)
                assert args[:3] == ["python", "-m", "runner"], line
                return shlex.split(first)[-1], args[3:]
    raise AssertionError(f"no '{prefix}' command in the README's 'Your own workload'")


def write_example(where: Path, only: str = "") -> None:
    for path, text in readme_files().items():
        if path.endswith(only):
            (where / path).parent.mkdir(parents=True, exist_ok=True)
            (where / path).write_text(text)


def measured(root: Path) -> pd.DataFrame:
    results = pd.read_csv(root / "results.csv")
    assert set(results["status"]) == {"ok"} and results["errors"].sum() == 0
    assert set(results.loc[results["executor"] != "serial", "workers"]) == {1, 2, 4}
    assert set(results["executor"]) == {"serial", "thread", "process"}
    assert set(results["workload.count"]) == {500}
    return results


def test_the_readme_example_is_one_module_and_a_complete_package() -> None:
    files = readme_files()
    assert set(files) == {"my_workloads/my_workloads.py", "my_workloads/pyproject.toml"}
    toml = files["my_workloads/pyproject.toml"]
    for table in ("[build-system]", "[project]", '[project.entry-points."concurrency_lab.workloads"]'):
        assert table in toml
    assert re.search(r'^name = "', toml, re.M) and re.search(r'^version = "', toml, re.M)


@pytest.mark.slow
def test_a_function_in_the_current_directory_is_measured_without_packaging(tmp_path: Path) -> None:
    write_example(tmp_path, only=".py")
    directory, args = readme_command("cd ")
    out = tmp_path / "sweep"
    # spawn: every worker is a fresh interpreter that must find the module and resolve the function
    proc = lab(*args, *TINY, "start_method=spawn", f"hydra.sweep.dir={out}", cwd=tmp_path / directory)
    assert proc.returncode == 0, proc.stderr
    assert set(measured(out)["workload"]) == {"my_workloads:run"}
    # a received sweep does not get to name code: its replay needs --trust, or the command typed
    replay = subprocess.run(
        [sys.executable, "-m", "runner.replay", str(out), "--dry-run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    assert replay.returncode == 2
    assert replay.stderr.startswith("error: workload.function: ") and "--trust" in replay.stderr, replay.stderr


@pytest.mark.parametrize(
    ("function", "error"),
    [
        ("nowhere:run", "error: workload.function: cannot import 'nowhere' (ModuleNotFoundError: "),
        (
            "my_workloads:walk",
            "error: workload.function: module 'my_workloads' has no 'walk'; allowed: its functions: run",
        ),
        ("my_workloads", "error: workload.function: 'my_workloads' is not MODULE:FUNCTION; allowed: "),
        ("os:system", "error: workload.function: "),
    ],
)
def test_a_bad_function_is_one_line(tmp_path: Path, function: str, error: str) -> None:
    write_example(tmp_path, only=".py")
    if function == "os:system":  # named by a shared file, not typed: refused before anything is imported
        (tmp_path / "shared" / "experiment").mkdir(parents=True)
        (tmp_path / "shared" / "experiment" / "x.yaml").write_text(
            "# @package _global_\nworkload:\n  function: os:system\n"
        )
        proc = lab("--config-dir", "shared", "+experiment=x", "workload=custom", *TINY, cwd=tmp_path)
        error += f"{tmp_path / 'shared/experiment/x.yaml'} sets 'os:system', which names code to import and run"
    else:
        proc = lab("workload=custom", f"workload.function={function}", *TINY, cwd=tmp_path / "my_workloads")
    assert proc.returncode == 2
    assert proc.stderr.startswith(error) and proc.stderr.count("\n") == 1, proc.stderr


def _can_build_wheels() -> bool:
    if importlib.util.find_spec("setuptools") is None:
        return False
    return bool(importlib.util.find_spec("wheel") or importlib.util.find_spec("setuptools.command.bdist_wheel"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's package installed with pip into a directory of its own, never into this environment."""
    tmp = tmp_path_factory.mktemp("newcomer")
    write_example(tmp)
    source, _ = readme_command("pip install ")
    target = tmp / "site"
    # where setuptools can build a wheel here (setuptools 70.1 can alone; before, with wheel), build with
    # it: seconds faster than an isolated build environment, and no index needed
    offline = ["--no-build-isolation"] if _can_build_wheels() else []
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *offline, "--target", str(target)]
    subprocess.run([*pip, str(tmp / source)], check=True, capture_output=True)
    assert list(target.glob("my_workloads-*.dist-info/entry_points.txt"))
    return target


@pytest.mark.slow
def test_the_readme_package_installs_and_its_workload_runs_under_its_name(site: Path, tmp_path: Path) -> None:
    _, args = readme_command("pip install ")
    out = tmp_path / "sweep"
    proc = lab(*args, *TINY, f"hydra.sweep.dir={out}", cwd=tmp_path, path=(site,))
    assert proc.returncode == 0, proc.stderr
    assert set(measured(out)["workload"]) == {"collatz"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["+workload.params.speed=2"], "error: workload.params.speed: not a parameter of workload 'collatz'"),
        (["+workload.params.count=many"], "error: workload.params.count: expected int"),
        (["workload.name=collatz:run"], "error: workload.name: unknown workload 'collatz:run'"),
    ],
)
def test_a_plugin_s_parameters_are_checked_like_a_built_in_s(
    site: Path, tmp_path: Path, args: list[str], error: str
) -> None:
    proc = lab("workload=custom", "workload.name=collatz", *args, cwd=tmp_path, path=(site,))
    assert proc.returncode == 2
    assert proc.stderr.startswith(error), proc.stderr


def test_without_the_package_the_name_is_unknown(tmp_path: Path) -> None:
    proc = lab("workload=custom", "workload.name=collatz", *TINY, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: workload.name: unknown workload 'collatz'; available: ")


def test_yaml_cannot_name_an_import_path_to_call(tmp_path: Path) -> None:
    proc = lab("workload.name=os:system", *TINY, cwd=tmp_path)
    assert proc.returncode == 2
    assert "unknown workload 'os:system'" in proc.stderr
