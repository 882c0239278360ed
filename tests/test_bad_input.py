"""The bad-input catalogue: each is one clear line, a non-zero exit, no traceback, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra.errors import HydraException

from runner import cli
from runner.paths import PROJECT_ROOT
from runner.sweep import config
from tests.conftest import lab

BROKEN_YAML = "# @package _global_\nworkers: [1, 2\n"
CATALOGUE: list[tuple[list[str], str]] = [
    # wrong types: the key, the type, the range
    (["workers=two"], "workers: 'two' is not an integer; allowed: an integer between 1 and 1024"),
    (["timeout_s=abc"], "timeout_s: 'abc' is not a number; allowed: a number above 0"),
    (["repeats=1.5"], "repeats:"),
    (["seed=abc"], "seed:"),
    (["timeout_s=soon"], "timeout_s:"),
    (["calibrate=maybe"], "calibrate:"),
    (["workload.tasks=many"], "workload.tasks:"),
    # out of range
    (["workers=0"], "workers: 0 is out of range; allowed: an integer between 1 and 1024"),
    (["repeats=-1"], "repeats: -1 is out of range; allowed: an integer of at least 1"),
    (["workers=-2"], "workers: -2 is out of range"),
    (["workers=5000"], "workers: 5000 is out of range"),
    (["repeats=0"], "repeats: 0 is out of range"),
    (["warmup=-1"], "warmup: -1 is out of range"),
    (["workload.tasks=0"], "workload.tasks: 0 is out of range"),
    (["workload.fail_rate=1.5"], "workload.fail_rate: 1.5 is out of range"),
    (["timeout_s=0"], "timeout_s: 0.0 is out of range"),
    (["rounds=0"], "rounds: 0 is out of range"),
    (["target_s=-1"], "target_s: -1.0 is out of range"),
    (["native_threads=0"], "native_threads: 0 is not a thread count; allowed: auto or an integer of at least 1"),
    (["native_threads=many"], "native_threads: many is not a thread count"),
    # unknown options and keys
    (["executor=nope"], "executor: no option 'nope'; allowed: "),
    (["workload=nope"], "workload: no option 'nope'; allowed: "),
    (["start_method=nope"], "start_method: no option 'nope'; allowed: fork, forkserver, spawn"),
    (["+experiment=nope"], "experiment: no option 'nope'"),
    (["workrs=2"], "workrs: unknown key; did you mean workers?"),
    (["+worker=2"], "worker: unknown key; did you mean workers?"),
    (["executr=thread"], "executr: unknown key; did you mean executor?"),
    (["workload.params.seconds=0.01"], "workload.params.seconds: not a parameter of workload 'cpu'; allowed: "),
    (["+executor.speed=2"], "executor.speed: unknown key"),
    # workload names and parameters
    (["workload.name=nope"], "workload.name: unknown workload 'nope'; available: "),
    (["workload.name=subprocess.run"], "workload.name: unknown workload 'subprocess.run'"),
    (
        ["+workload.params.bogus=1"],
        "workload.params.bogus: not a parameter of workload 'cpu'; allowed: workload.params.n",
    ),
    (["workload.params.n=fast"], "workload.params.n: expected int"),
    (["workload=sleep", "workload.params.seconds=soon"], "workload.params.seconds: expected float"),
    # a sweep with one bad value fails before its first cell
    (["-m", "workers=1,2,0"], "workers: 0 is out of range"),
    (["-m", "workload.params.n=10,abc"], "workload.params.n: expected int"),
    # words Hydra's grammar cannot read: a misspelt subcommand, a space after a sweep's comma
    (
        ["reprot"],
        "reprot: not an override; allowed: KEY=VALUE, KEY=A,B to sweep, or before them a subcommand of"
        " concurrency-lab: report, compare, replay; did you mean concurrency-lab report?",
    ),
    (["-m", "executor=thread,", "workers=1"], "executor=thread,: not an override Hydra can read"),
    # unsafe shared config
    (["+workload._target_=os.system"], "workload._target_: unknown key"),
    (["+hydra.callbacks.evil._target_=os.system"], "hydra.callbacks.evil: a shared config may not name code to run"),
]


def assert_one_clear_line(proc: subprocess.CompletedProcess[str], expected: str) -> None:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "To append" not in proc.stderr, "Hydra's advice to append a key the lab then refuses"


@pytest.mark.parametrize(("args", "expected"), CATALOGUE, ids=[" ".join(a) for a, _ in CATALOGUE])
def test_bad_input(tmp_path: Path, args: list[str], expected: str) -> None:
    out = tmp_path / "out"
    proc = lab(*args, f"hydra.run.dir={out}", f"hydra.sweep.dir={out}", cwd=tmp_path)
    assert_one_clear_line(proc, expected)
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the run directory


@pytest.mark.parametrize("mode", [["-m"], []], ids=["sweep", "run"])
def test_an_output_directory_under_a_file_is_one_line(tmp_path: Path, mode: list[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("kept")
    out = blocker / "out"
    proc = lab(*mode, "workload=tiny", f"hydra.run.dir={out}", f"hydra.sweep.dir={out}", cwd=tmp_path)
    assert_one_clear_line(proc, f"output: cannot write {out}: Not a directory")
    assert proc.returncode == 1 and blocker.read_text() == "kept"


def error_line(argv: list[str]) -> str:
    """What the lab prints for a command line that Hydra's composition refuses (in-process: no interpreter
    to start); of a sweep, the job that Hydra composes with workload=io."""
    config.register()
    job = [o.replace("workload=sleep,io", "workload=io") for o in argv if o != "-m"]
    with pytest.raises(HydraException) as caught:
        cli._compose("config", job)
    return cli.one_line(caught.value, argv)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["workload.tsks=3"], "workload.tsks: unknown key; did you mean workload.tasks?"),
        # a key in the wrong place is found by its last part
        (["tasks=3"], "tasks: unknown key; did you mean workload.tasks?"),
        (["name=x"], "name: unknown key; did you mean workload.name or executor.name?"),
        # a group that no default chooses is added, as README's +experiment=NAME says
        (["experiment=gil"], "experiment: chosen by no default; +experiment=gil adds it"),
        # Hydra's own keys, for a key in its node only
        (["hydra.job.nme=x"], "hydra.job.nme: unknown key; did you mean hydra.job.name?"),
        (["xyzzy=1"], "xyzzy: unknown key; allowed: workload, executor, start_method, workers, repeats,"),
        (["workload=sleep", "workload.params.secnds=1"], "workload.params.secnds: not a parameter of workload 'sleep';"
         " did you mean workload.params.seconds?"),
        # a parameter of the function that the workload's config does not list: the lab's rule is +
        (["workload=custom", "workload.name=cpu", "workload.params.n=5"],
         "workload.params.n: workload 'cpu' does not set it; +workload.params.n=VALUE passes it to its function"),
        # a sweep over workloads stops at the first whose config lacks the key, not at the first value
        (["-m", "workload=sleep,io", "workload.params.seconds=1"],
         "workload.params.seconds: not a parameter of workload 'io'; allowed: workload.params.kib,"),
        (["resume=maybe"], "resume: 'maybe' is not a boolean; allowed: true or false"),
        (["memory_mb=lots"], "memory_mb: 'lots' is not a number; allowed: a number above 0, or null (unset)"),
        (["executor=dask", "executor.threads_per_worker=x"],
         "executor.threads_per_worker: 'x' is not an integer; allowed: an integer"),
        (["workload=base_workload"], "workload: no option 'base_workload'; a config extends that schema with"),
    ],
)  # fmt: skip
def test_errors_point_to_the_fix(overrides: list[str], expected: str) -> None:
    line = error_line(overrides)
    assert line.startswith(expected), line
    assert "\n" not in line


def experiment_dir(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "mine"
    (folder / "experiment").mkdir(parents=True)
    (folder / "experiment" / "bad.yaml").write_text(text)
    return folder


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (BROKEN_YAML, "experiment/bad.yaml, line 3, column 1: YAML syntax error: expected ',' or ']'"),
        ("# @package _global_\n_target_: os.system\n", "_target_: unknown key (in experiment/bad); allowed: workload,"),
        (
            "# @package _global_\nworkload:\n  _target_: os.system\n",
            "workload._target_: unknown key (in experiment/bad); allowed: name, function, tasks, params, fail_rate",
        ),
        (
            "# @package _global_\nexpect:\n  - claim: x\n    chek: speedup > 1\n",
            "chek: unknown key (in experiment/bad); allowed: claim, where, check",
        ),
        (
            "# @package _global_\nhydra:\n  callbacks:\n    evil:\n"
            "      _target_: os.system\n      command: touch pwned\n",
            "experiment/bad.yaml sets 'os.system', which names code to run: a shared file may not",
        ),
        (
            "# @package _global_\nhydra:\n  job_logging:\n    handlers:\n      evil:\n        (): os.system\n",
            "experiment/bad.yaml sets 'os.system', which configures logging handlers",
        ),
        ("# @package _global_\nworkload:\n  name: subprocess.run\n", "workload.name: unknown workload"),
        # a record separator ends a line for str.splitlines, an escape drives the terminal: both shown escaped
        ('# @package _global_\npython: "\\x1E\\e[31m"\n', "sets '\\x1e\\x1b[31m', which chooses a program to run"),
    ],
    ids=[
        "yaml-syntax",
        "target-top",
        "target-workload",
        "expect-key",
        "callback",
        "logging-factory",
        "import-path",
        "control",
    ],
)
def test_a_shared_experiment_cannot_break_in_or_run_code(tmp_path: Path, text: str, expected: str) -> None:
    folder = experiment_dir(tmp_path, text)
    out = tmp_path / "out"
    proc = lab("-cd", str(folder), "+experiment=bad", f"hydra.run.dir={out}", cwd=tmp_path)
    assert_one_clear_line(proc, expected)
    assert not out.exists() and not (tmp_path / "pwned").exists()


def test_an_entry_point_that_is_not_installed_is_refused(tmp_path: Path) -> None:
    proc = lab("workload=cpu", "workload.name=not_installed_plugin", cwd=tmp_path)
    assert_one_clear_line(proc, "workload.name: unknown workload 'not_installed_plugin'")


def test_a_start_method_the_platform_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    from runner.sweep import spec
    from tests.conftest import cell_spec

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    cfg = {**cell_spec(), "executor": {"name": "process"}, "start_method": "fork"}
    with pytest.raises(spec.SpecError, match=r"^start_method: 'fork' is not available here; allowed: spawn$"):
        spec.build(cfg)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no results.csv"),
        ('\x00\x01garbage\n"unterminated', "results.csv"),
        ("a,b\n1,2\n", "results.csv"),
    ],
    ids=["missing", "corrupt", "foreign"],
)
def test_the_report_refuses_what_it_cannot_read(tmp_path: Path, content: str | None, expected: str) -> None:
    if content is not None:
        (tmp_path / "results.csv").write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "runner.report", str(tmp_path)], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert_one_clear_line(proc, expected)
