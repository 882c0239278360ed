"""expect: a whitelisted expression language, refused before any cell runs, judged by the report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from benchmarks.synthetic import make_sweep
from runner.claims import expectations as expect
from runner.claims import verdicts
from runner.claims.expression import Expr, ExprError
from runner.results.load import load
from tests.conftest import lab, small_design

FRAME = pd.DataFrame({"workers": [1, 2, 4], "executor": ["serial", "thread", "thread"], "speedup": [1.0, 1.1, 0.9]})


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("len(executor) > 1", "a call"),
        ("__import__('os').system('true')", "a call"),
        ("speedup.real > 1", "attribute access"),
        ("executor[0] == 't'", "a subscript"),
        ("(lambda: 1)() == 1", "a call"),
        ("[w for w in workers] == 1", "a comprehension"),
        ("workers ** 99 > 1", "an operator other than"),
        ("executor is 'thread'", "an identity test"),
        ("(workers := 3) > 1", "an assignment"),
        ("f'{workers}' == '1'", "an f-string"),
        ("executor in executor", "'in' against something other than a literal list"),
        ("workers > 1 if True else False", "a conditional expression"),
    ],
)
def test_code_is_refused_before_evaluation(source: str, what: str) -> None:
    with pytest.raises(ExprError, match="allowed:") as error:
        Expr(source, ["workers", "executor", "speedup"])
    assert what in str(error.value)


@pytest.mark.parametrize(
    ("source", "rows"),
    [
        ("workers > 1", [False, True, True]),
        ("executor == 'thread' and speedup < 1.0", [False, False, True]),
        ("not workers == 2 or speedup > 1.05", [True, True, True]),
        ("executor in ['serial', 'process']", [True, False, False]),
        ("executor not in ('serial',)", [False, True, True]),
        ("1 < workers <= 2", [False, True, False]),
        ("speedup * workers - 1 > 2", [False, False, True]),
        ("-speedup < -1", [False, True, False]),
    ],
)
def test_allowed_expressions_evaluate_per_row(source: str, rows: list[bool]) -> None:
    assert list(Expr(source).evaluate(FRAME)) == rows


def test_an_unknown_name_lists_the_names_there_are() -> None:
    with pytest.raises(ExprError, match=r"unknown name 'sped'; allowed names: .*speedup"):
        Expr("sped < 1", expect.names())


def test_expect_items_name_their_index_and_key() -> None:
    items = [
        {"claim": "ok", "check": "speedup > 0"},
        {"claim": "bad", "where": "workers.bit_length()", "check": "n > 0"},
    ]
    with pytest.raises(ExprError, match=r"^expect\[1\]\.where: 'workers\.bit_length\(\)' is a call"):
        expect.parse(items)


def test_workload_parameters_are_names_with_a_prefix() -> None:
    assert "param_seconds" in expect.names(["seconds"])
    Expr("param_seconds > 0.01", expect.names(["seconds"]))
    with pytest.raises(ExprError, match="unknown name 'param_n'"):
        Expr("param_n > 1", expect.names(["seconds"]))
    Expr("param_n > 1 and param_seconds > 0", expect.names(None))  # before a sweep: any parameter


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, verdicts.Verdict]:
    items = [
        {
            "claim": "threads do not speed up CPU work",
            "where": "workload == 'cpu' and executor == 'thread'",
            "check": "speedup < 1.2",
        },
        {
            "claim": "processes scale past 3x on CPU work",
            "where": "workload == 'cpu' and executor == 'process'",
            "check": "speedup > 3",
        },
        {"claim": "nothing runs io", "where": "workload == 'io'", "check": "speedup > 1"},
        {"claim": "refused", "where": "True", "check": "speedup.__class__ == 1"},
    ]
    root = make_sweep(tmp_path_factory.mktemp("v") / "sweep", small_design(expect=items))
    return {v.claim: v for v in verdicts.evaluate(load(root))}


def test_a_claim_that_holds_shows_its_numbers(judged: dict[str, verdicts.Verdict]) -> None:
    verdict = judged["threads do not speed up CPU work"]
    assert verdict.verdict == verdicts.HOLDS
    assert verdict.cells == 3
    assert "speedup" in verdict.numbers


def test_a_claim_that_fails_names_the_cells_that_break_it(judged: dict[str, verdicts.Verdict]) -> None:
    verdict = judged["processes scale past 3x on CPU work"]
    assert verdict.verdict == verdicts.FAILS
    assert "cpu/process/fork/1 (speedup=" in verdict.numbers  # one worker cannot be 3x faster


def test_a_claim_no_cell_matches_is_not_measured(judged: dict[str, verdicts.Verdict]) -> None:
    assert judged["nothing runs io"].verdict == verdicts.NOT_MEASURED


def test_a_recorded_expression_with_an_attribute_is_refused_by_the_report(judged: dict[str, verdicts.Verdict]) -> None:
    verdict = judged["refused"]
    assert verdict.verdict == verdicts.REFUSED
    assert "expect[3].check: 'speedup.__class__' is attribute access" in verdict.numbers


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("expect=[{claim: a, where: 'len(workers) > 1', check: 'speedup < 1.2'}]", "expect[0].where"),
        ("expect=[{claim: a, check: 'speedup.real < 1.2'}]", "expect[0].check"),
        ("expect=[{claim: a, check: 'sped < 1.2'}]", "expect[0].check"),
    ],
)
def test_a_bad_expectation_stops_the_sweep_before_any_cell(tmp_path: Path, override: str, key: str) -> None:
    out = tmp_path / "out"
    proc = lab("-m", "workers=1,2", override, f"hydra.sweep.dir={out}", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {key}: ") and "allowed" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (out / "cells").exists()


def test_a_shared_yaml_that_tries_an_attribute_is_refused(tmp_path: Path) -> None:
    (tmp_path / "conf" / "experiment").mkdir(parents=True)
    (tmp_path / "conf" / "experiment" / "sneaky.yaml").write_text(
        "# @package _global_\n"
        "expect:\n"
        "  - claim: looks harmless\n"
        "    where: \"workload == 'cpu'\"\n"
        '    check: "speedup.__class__.__mro__ == 1"\n'
    )
    out = tmp_path / "out"
    proc = lab("--config-dir", str(tmp_path / "conf"), "+experiment=sneaky", f"hydra.run.dir={out}", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: expect[0].check: 'speedup.__class__.__mro__' is attribute access")
    assert not out.exists()


def test_a_job_accepts_parameters_that_only_other_jobs_workloads_have(compose_cfg) -> None:
    from runner.sweep.validate import build_spec, plain

    cfg = compose_cfg(["workload=cpu", "expect=[{claim: a, where: 'param_seconds > 0', check: 'speedup < 9'}]"])
    assert build_spec(plain(cfg))["workload"]["name"] == "cpu"


def test_an_impossible_speedup_is_left_out_of_claims_on_speedup_but_its_parallelism_is_judged() -> None:
    summary = pd.DataFrame(
        {
            "cell": ["a", "b"],
            "workload": ["cpu", "cpu"],
            "executor": ["thread", "thread"],
            "start_method": ["", ""],
            "workers": [1, 2],
            "status": ["ok", "ok"],
            "n": [3, 3],
            "speedup_median": [1.6, 0.9],
            "efficiency_median": [1.6, 0.45],
            "parallelism_median": [0.99, 1.4],
            "impossible": [True, False],
        }
    )
    allowed = expect.names()

    def verdict(check: str) -> verdicts.Verdict:
        return verdicts.judge(summary, {"claim": "c", "check": check}, 0, allowed, cores=2)

    on_speedup = verdict("speedup < 1.5")
    assert (on_speedup.verdict, on_speedup.cells) == (verdicts.HOLDS, 1)
    assert "1 cell(s) with an impossible value not judged" in on_speedup.numbers
    assert verdict("efficiency < 0.5").cells == 1
    # the impossible cell's parallelism is its own measurement: judged, and here it breaks the claim
    on_parallelism = verdict("parallelism > 1.2")
    assert (on_parallelism.verdict, on_parallelism.cells) == (verdicts.FAILS, 2)
    assert "not judged" not in on_parallelism.numbers
    # cells chosen by their speedup: the impossible one cannot be chosen by it
    chosen = verdicts.judge(
        summary, {"claim": "c", "where": "speedup > 0.5", "check": "parallelism > 1"}, 0, allowed, 2
    )
    assert (chosen.verdict, chosen.cells) == (verdicts.HOLDS, 1)


def test_every_name_that_divides_by_the_reference_is_known_as_one() -> None:
    # speedup and efficiency (speedup / workers), bare or as a median or a CI end: what an impossible cell lacks
    derived = {n for n in expect.names() if n.startswith(("speedup", "efficiency"))}
    assert derived == verdicts.FROM_SPEEDUP
