"""A workload that an installed package registers (entry point group concurrency_lab.workloads)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import lab

PLUGIN = Path(__file__).with_name("plugin_pkg")
TINY = ["workload.tasks=4", "repeats=1", "warmup=0"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin installed with pip into a directory of its own, never into this environment."""
    tmp = tmp_path_factory.mktemp("plugin")
    source, target = tmp / "src", tmp / "site"
    shutil.copytree(PLUGIN, source)  # a build writes beside the sources: keep the repository clean
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(source)]
    subprocess.run(pip, check=True, capture_output=True)
    assert list(target.glob("lab_plugin_demo-*.dist-info/entry_points.txt"))
    return target


@pytest.mark.slow
def test_an_installed_workload_runs_under_its_name(site: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    proc = lab(
        "-m",
        "workload=custom",
        "workload.name=collatz",
        "+workload.params.count=50",
        "executor=process",
        "start_method=spawn",  # a fresh worker interpreter finds the plugin too
        "workers=2",
        *TINY,
        f"hydra.sweep.dir={out}",
        cwd=tmp_path,
        path=(site,),
    )
    assert proc.returncode == 0, proc.stderr
    results = pd.read_csv(out / "results.csv")
    assert set(results["workload"]) == {"collatz"}
    assert set(results["status"]) == {"ok"} and results["errors"].sum() == 0
    assert set(results["workload.count"]) == {50}


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
