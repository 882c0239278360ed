"""One vocabulary: the names of runner.load's summary are the names expect: reads, and
sweep.warnings is what the report warns about."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from benchmarks.synthetic import make_sweep
from runner.claims import expectations as expect
from runner.claims import verdicts
from runner.claims.expression import Expr, ExprError
from runner.report import sections as report
from runner.results.load import load
from tests.conftest import small_design

CLAIMS = [
    {"claim": "by the column name", "where": "workload == 'cpu'", "check": "workload.n == 200000 and speedup > 0"},
    {"claim": "by the old spelling", "where": "workload == 'cpu'", "check": "param_n == 200000"},
    {"claim": "by the file's name", "where": "executor == 'serial'", "check": "speedup_median == speedup"},
]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_sweep(tmp_path_factory.mktemp("vocabulary") / "sweep", small_design(expect=CLAIMS))
    summary = pd.read_csv(root / "summary.csv")
    noisy = summary.index[summary["executor"] == "thread"][0]
    summary["noise"] = summary["noise"].astype(object)
    summary.loc[noisy, ["noisy", "noise", "cv"]] = [True, "cv 30% > 10%", 0.3]
    summary.to_csv(root / "summary.csv", index=False)
    return root


def test_a_measure_has_one_name_in_the_summary_and_in_expect(root: Path) -> None:
    summary = load(root).summary
    for name in ("speedup", "wall_s", "parallelism", "efficiency", "startup_s", "cpu_s"):
        assert summary[name].equals(summary[f"{name}_median"]), name
    machine = {"cores", "physical_cores"}
    bound = verdicts.columns(summary, cores=2)
    assert [n for n in bound if n not in summary and n not in machine and not n.startswith(expect.PARAM_PREFIX)] == []
    assert {"workload.n", "workload.seconds"} <= set(bound)


def test_a_claim_names_a_parameter_as_the_tables_do_and_the_old_spelling_still_works(root: Path) -> None:
    found = {v.claim: v for v in verdicts.evaluate(load(root))}
    assert {v.verdict for v in found.values()} == {verdicts.HOLDS}, found
    assert "old spelling" not in found["by the column name"].numbers
    assert "param_n: the old spelling of workload.n" in found["by the old spelling"].numbers


def test_only_a_workload_parameter_may_have_a_dot() -> None:
    names = expect.names(["kib"])
    Expr("workload.kib >= 8192", names)
    with pytest.raises(ExprError, match=r"unknown name 'workload\.n'"):
        Expr("workload.n > 1", names)
    with pytest.raises(ExprError, match="is attribute access"):
        Expr("executor.kib > 1", names)
    Expr("workload.n > 1 and param_seconds > 0", expect.names(None))  # before a sweep: any parameter


def test_sweep_warnings_are_the_reports_warnings(root: Path) -> None:
    warnings = load(root).warnings
    assert any("noisy cell(s)" in w for w in warnings), warnings
    report.render(root)
    section = (root / "report.md").read_text().split("## Warnings", 1)[1].split("\n## ", 1)[0]
    assert [line.removeprefix("- ") for line in section.splitlines() if line.startswith("- ")] == warnings


def test_a_directory_with_no_cells_warns_so(tmp_path: Path) -> None:
    (tmp_path / "results.csv").write_text("cell,workload,executor,start_method,workers,status\n")
    assert load(tmp_path).warnings[-1] == "results.csv holds no cells"
