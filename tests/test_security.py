"""The threat model (docs/security.md), attack by attack, against the real CLI.

A shared ``--config-dir`` or experiment file, and a received results directory, are not
trusted: what they would have run must not run, and nothing outside the sweep directory
may change. The same values typed on the command line are the person's own, and run.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from runner.paths import PROJECT_ROOT
from runner.sweep import config, trust
from runner.sweep.launch import Limits, _session, run_cell
from tests.conftest import lab, small_design, workload_spec

HOSTILE_HTML = "<script>alert('x')</script>"


def canary(folder: Path, name: str = "canary") -> tuple[Path, Path]:
    """An executable that records being run (its argv and LAB_CANARY), then runs Python with
    its arguments, so that where a person chooses it, it works as an interpreter."""
    folder.mkdir(parents=True, exist_ok=True)
    marker, script = folder / f"{name}.ran", folder / name
    script.write_text(f'#!/bin/sh\necho "$LAB_CANARY $*" >> {marker}\nexec {sys.executable} "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, marker


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root`` with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def shared_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "received"
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def assert_refused(proc: subprocess.CompletedProcess[str], key: str, *words: str) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: {key}: "), lines[0]
    assert "; allowed: " in lines[0] and all(w in lines[0] for w in words), lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    return lines[0]


GLOBAL = "# @package _global_\n"
# Each row of docs/security.md marked "refused" for a shared file: (files, key in the error).
# {canary} is an executable that records being run; {tmp} the test's directory.
REFUSED = {
    "interpreter-path": ({"experiment/shared.yaml": GLOBAL + "python: {canary}\n"}, "python"),
    "ld-preload": (
        {"experiment/shared.yaml": GLOBAL + "hydra:\n  job:\n    env_set:\n      LD_PRELOAD: {tmp}/evil.so\n"},
        "hydra.job.env_set.LD_PRELOAD",
    ),
    "pythonpath-sitecustomize": (
        {
            "experiment/shared.yaml": GLOBAL + "hydra:\n  job:\n    env_set:\n      PYTHONPATH: {tmp}/received/site\n",
            "site/sitecustomize.py": "import pathlib; pathlib.Path(r'{canary}.ran').write_text('sitecustomize')\n",
        },
        "hydra.job.env_set.PYTHONPATH",
    ),
    "env-copy": ({"experiment/shared.yaml": GLOBAL + "hydra:\n  job:\n    env_copy: [HOME]\n"}, "hydra.job.env_copy"),
    "launcher-node": (
        {
            "experiment/shared.yaml": GLOBAL + "hydra:\n  launcher:\n    _target_: "
            "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher\n"
        },
        "hydra.launcher._target_",
    ),
    "launcher-group": (
        {"experiment/shared.yaml": GLOBAL + "defaults:\n  - override /hydra/launcher: submitit_slurm\n"},
        "hydra/launcher",
    ),
    "callbacks-group": (
        {
            "experiment/shared.yaml": GLOBAL + "defaults:\n  - override /hydra/callbacks: evil\n",
            "hydra/callbacks/evil.yaml": "evil:\n  _target_: os.system\n  command: touch {canary}.ran\n",
        },
        "hydra/callbacks",
    ),
    "logging-file-handler": (
        {
            "experiment/shared.yaml": GLOBAL + "hydra:\n  job_logging:\n    handlers:\n      file:\n"
            "        class: logging.FileHandler\n        filename: {tmp}/outside.log\n"
        },
        "hydra.job_logging.handlers.file.class",
    ),
    "searchpath": ({"experiment/shared.yaml": GLOBAL + "hydra:\n  searchpath: [file://{tmp}]\n"}, "hydra.searchpath"),
    "chdir": ({"experiment/shared.yaml": GLOBAL + "hydra:\n  job:\n    chdir: true\n"}, "hydra.job.chdir"),
    "sweep-dir": (
        {"experiment/shared.yaml": GLOBAL + "hydra:\n  sweep:\n    dir: {tmp}/elsewhere\n"},
        "hydra.sweep.dir",
    ),
    "sweep-subdir": (
        {"experiment/shared.yaml": GLOBAL + "hydra:\n  sweep:\n    subdir: ../../../elsewhere\n"},
        "hydra.sweep.subdir",
    ),
    "run-dir": ({"experiment/shared.yaml": GLOBAL + "hydra:\n  run:\n    dir: {tmp}/elsewhere\n"}, "hydra.run.dir"),
    "output-subdir": (
        {"experiment/shared.yaml": GLOBAL + "hydra:\n  output_subdir: ../../outside\n"},
        "hydra.output_subdir",
    ),
    "runtime-output-dir": (
        {"experiment/shared.yaml": GLOBAL + "hydra:\n  runtime:\n    output_dir: {tmp}/elsewhere\n"},
        "hydra.runtime.output_dir",
    ),
    "sweeper-node": (
        {"experiment/shared.yaml": GLOBAL + "hydra:\n  sweeper:\n    _target_: os.system\n"},
        "hydra.sweeper._target_",
    ),
    "sweeper-setting": (
        {"experiment/shared.yaml": GLOBAL + "hydra:\n  sweeper:\n    max_batch_size: 1\n"},
        "hydra.sweeper.max_batch_size",
    ),
    "sweeper-group": (
        {
            "experiment/shared.yaml": GLOBAL + "defaults:\n  - override /hydra/sweeper: evil\n",
            "hydra/sweeper/evil.yaml": "_target_: os.system\ncommand: touch {canary}.ran\n",
        },
        "hydra/sweeper",
    ),
    "hydra-logging-file-handler": (
        {
            "experiment/shared.yaml": GLOBAL + "hydra:\n  hydra_logging:\n    handlers:\n      file:\n"
            "        class: logging.FileHandler\n        filename: {tmp}/outside.log\n"
        },
        "hydra.hydra_logging.handlers.file.class",
    ),
    "callbacks-node": (
        {
            "experiment/shared.yaml": GLOBAL + "hydra:\n  callbacks:\n    evil:\n      _target_: os.system\n"
            "      _args_: ['touch {canary}.ran']\n"
        },
        "hydra.callbacks.evil._target_",
    ),
    "hydra-mode": ({"experiment/shared.yaml": GLOBAL + "hydra:\n  mode: RUN\n"}, "hydra.mode"),
    "hydra-job-name": ({"experiment/shared.yaml": GLOBAL + "hydra:\n  job:\n    name: x\n"}, "hydra.job.name"),
    "dask-cluster": (
        {
            "experiment/shared.yaml": GLOBAL + "defaults:\n  - override /executor: dask\n"
            "executor:\n  address: tcp://192.0.2.1:8786\n"
        },
        "executor.address",
    ),
    "function": ({"experiment/shared.yaml": GLOBAL + "workload:\n  function: os:system\n"}, "workload.function"),
    "env-resolver": (
        {"experiment/shared.yaml": GLOBAL + "expect:\n  - claim: ${{oc.env:HOME}}\n    check: 'True'\n"},
        "expect[0].claim",
    ),
    # oc.decode reads a string as config: an oc.env assembled inside it (\${oc.${...}:HOME}) is a
    # resolver no reading of the file finds, and it resolves to your environment all the same
    "decode-resolver": (
        {
            "experiment/shared.yaml": GLOBAL + "expect:\n"
            "  - claim: ${{oc.decode:'\\${{oc.${{expect[1].claim}}:HOME}}'}}\n    check: 'True'\n"
            "  - claim: env\n    check: 'True'\n"
        },
        "expect[0].claim",
    ),
    "hydra-resolver": (
        {"experiment/shared.yaml": GLOBAL + "expect:\n  - claim: ${{hydra:runtime.cwd}}\n    check: 'True'\n"},
        "expect[0].claim",
    ),
    "unknown-resolver": (
        {"experiment/shared.yaml": GLOBAL + "expect:\n  - claim: ${{evil:x}}\n    check: 'True'\n"},
        "expect[0].claim",
    ),
    "swept-interpreter": (
        {"experiment/shared.yaml": GLOBAL + "hydra:\n  sweeper:\n    params:\n      python: 3.11,{canary}\n"},
        "hydra.sweeper.params.python",
    ),
    "swept-environment": (
        {
            "experiment/shared.yaml": GLOBAL + "hydra:\n  sweeper:\n    params:\n"
            "      +hydra.job.env_set.LD_PRELOAD: {tmp}/evil.so\n"
        },
        "hydra.sweeper.params.+hydra.job.env_set.LD_PRELOAD",
    ),
    "swept-choice-of-a-received-file": (
        {
            "experiment/shared.yaml": GLOBAL + "hydra:\n  sweeper:\n    params:\n      workload: cpu,sneaky\n",
            "workload/sneaky.yaml": GLOBAL + "python: {canary}\n",
        },
        "python",
    ),
    "placed-into-hydra": (
        {"experiment/shared.yaml": GLOBAL + "defaults:\n  - /workload/cpu@hydra.job\n"},
        "hydra.job",
    ),
}


# The three attacks run as a user would, in a process of their own; the other rows run
# the same entry point in this process (runner.cli.main), which is several times faster.
OWN_PROCESS = ("interpreter-path", "ld-preload", "pythonpath-sitecustomize")


def run_cli(argv: list[str], cwd: Path, in_process: bool) -> subprocess.CompletedProcess[str]:
    if not in_process:
        return lab(*argv, cwd=cwd)
    from runner import cli

    here, err = Path.cwd(), io.StringIO()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as stop:
            cli.main(argv)
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(argv, int(stop.value.code or 0), "", err.getvalue())


@pytest.mark.parametrize("attack", list(REFUSED))
def test_a_shared_file_cannot_reach_outside(tmp_path: Path, attack: str) -> None:
    files, key = REFUSED[attack]
    script, marker = canary(tmp_path / "bin")
    folder = shared_dir(tmp_path, {n: t.format(canary=script, tmp=tmp_path) for n, t in files.items()})
    before = snapshot(tmp_path)
    argv = ["-m", "--config-dir", str(folder), "+experiment=shared"]
    proc = run_cli(argv, tmp_path, in_process=attack not in OWN_PROCESS)
    line = assert_refused(proc, key, str(folder))
    assert "a shared file may not" in line
    assert not marker.exists()
    assert snapshot(tmp_path) == before  # no sweep directory, no log, nothing elsewhere


@pytest.mark.parametrize("flag", ["--help", "--hydra-help"])
def test_a_help_calls_no_code_a_shared_file_names(tmp_path: Path, flag: str) -> None:
    """Hydra's helps configure logging from the composed config before printing; the lab's do not,
    so a logging factory in a received --config-dir is never called (the preflight does not
    compose for a help)."""
    marker = tmp_path / "factory.ran"
    logging_yaml = f"version: 1\nformatters:\n  x:\n    (): builtins.open\n    file: {marker}\n    mode: w\n"
    folder = shared_dir(tmp_path, {"hydra/hydra_logging/shared.yaml": logging_yaml})
    proc = lab(flag, "--config-dir", str(folder), "hydra/hydra_logging=shared", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Configuration groups" in proc.stdout or "Hydra" in proc.stdout
    assert not marker.exists()


@pytest.mark.parametrize("flag", [[], ["--help"]])
def test_a_received_primary_config_is_refused(tmp_path: Path, flag: list[str]) -> None:
    """--config-path swaps the lab's conf/ for a directory's own, which the checks do not read."""
    marker = tmp_path / "factory.ran"
    logging_yaml = f"version: 1\nformatters:\n  x:\n    (): builtins.open\n    file: {marker}\n    mode: w\n"
    folder = shared_dir(
        tmp_path,
        {
            "hydra/hydra_logging/shared.yaml": logging_yaml,
            "config.yaml": "defaults:\n  - override hydra/hydra_logging: shared\n",
        },
    )
    before = snapshot(tmp_path)
    assert_refused(lab(*flag, "--config-path", str(folder), cwd=tmp_path), "--config-path", "--config-dir")
    assert not marker.exists()
    assert snapshot(tmp_path) == before


# Code named where the lab's schema and registries have no such key or name: refused from anywhere,
# as an unknown key or name (there is no command line that would run it). (YAML text, key in the error, words.)
NAMES_NO_CODE = {
    "target-in-a-lab-key": (
        "workload:\n  _target_: os.system\n  _args_: ['touch {canary}.ran']\n",
        "workload._target_",
        ("unknown key (in experiment/shared); allowed: name, function",),
    ),
    "import-path-as-workload": ("workload:\n  name: os:system\n", "workload.name", ("unknown workload 'os:system'",)),
    "import-path-as-executor": ("executor:\n  name: os:system\n", "executor.name", ("unknown executor 'os:system'",)),
    "import-path-as-a-swept-workload": (
        "hydra:\n  sweeper:\n    params:\n      workload.name: cpu,os:system\n",
        "workload.name",
        ("unknown workload 'os:system'",),
    ),
}


@pytest.mark.parametrize("attack", list(NAMES_NO_CODE))
def test_code_named_in_the_lab_s_keys_is_refused(tmp_path: Path, attack: str) -> None:
    text, key, words = NAMES_NO_CODE[attack]
    script, marker = canary(tmp_path / "bin")
    folder = shared_dir(tmp_path, {"experiment/shared.yaml": GLOBAL + text.format(canary=script)})
    before = snapshot(tmp_path)
    proc = run_cli(["-m", "--config-dir", str(folder), "+experiment=shared"], tmp_path, in_process=True)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith(f"error: {key}: ") and all(w in proc.stderr for w in words), proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not marker.exists()
    assert snapshot(tmp_path) == before


# Files that Hydra's safe loader cannot read: refused before any key is read, in one line that names
# the file (YAML bytes after the package line, what the line says).
UNREADABLE = {
    "python-object-apply-tag": (
        b"workers: !!python/object/apply:os.system ['touch {canary}.ran']\n",
        "could not determine a constructor for the tag",
    ),
    "python-name-tag": (b"workers: !!python/name:os.system\n", "could not determine a constructor for the tag"),
    "not-utf8": (b"workers: 2\n# caf\xe9 au lait\n", "not UTF-8 text"),
}


@pytest.mark.parametrize("attack", list(UNREADABLE))
def test_a_file_the_safe_loader_cannot_read_is_one_line(tmp_path: Path, attack: str) -> None:
    data, words = UNREADABLE[attack]
    script, marker = canary(tmp_path / "bin")
    shared = tmp_path / "received" / "experiment" / "shared.yaml"
    shared.parent.mkdir(parents=True)
    shared.write_bytes(GLOBAL.encode() + data.replace(b"{canary}", bytes(script)))
    before = snapshot(tmp_path)
    proc = run_cli(["-m", "--config-dir", str(shared.parents[1]), "+experiment=shared"], tmp_path, in_process=True)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith(f"error: {shared}") and words in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not marker.exists()
    assert snapshot(tmp_path) == before


def test_a_typed_group_choice_leaves_the_file_s_keys_to_the_rules(tmp_path: Path) -> None:
    """``executor=dask`` typed chooses a config; the address a shared file then sets in it is the file's."""
    folder = shared_dir(tmp_path, {"experiment/shared.yaml": GLOBAL + "executor:\n  address: tcp://192.0.2.1:8786\n"})
    proc = run_cli(["--config-dir", str(folder), "+experiment=shared", "executor=dask"], tmp_path, in_process=True)
    assert_refused(proc, "executor.address", str(folder))


def test_a_typed_hydra_key_leaves_a_file_s_axis_over_it_to_the_rules(tmp_path: Path) -> None:
    """Hydra's sweeper replaces a swept axis with a typed override of the task's keys only: a
    typed hydra.sweep.dir left a file's axis over hydra.sweep.dir to write every job elsewhere."""
    elsewhere = tmp_path / "victim"
    text = GLOBAL + f"hydra:\n  sweeper:\n    params:\n      hydra.sweep.dir: {elsewhere}\n"
    folder = shared_dir(tmp_path, {"experiment/shared.yaml": text})
    argv = ["-m", "--config-dir", str(folder), "+experiment=shared", f"hydra.sweep.dir={tmp_path / 'mine'}"]
    before = snapshot(tmp_path)
    proc = run_cli(argv, tmp_path, in_process=True)
    assert_refused(proc, "hydra.sweeper.params.hydra.sweep.dir", str(folder))
    assert snapshot(tmp_path) == before and not elsewhere.exists()


def test_the_refusal_names_the_command_line_form(tmp_path: Path) -> None:
    script, _ = canary(tmp_path / "bin")
    folder = shared_dir(tmp_path, {"experiment/shared.yaml": GLOBAL + f"python: {script}\n"})
    proc = lab("-m", "--config-dir", str(folder), "+experiment=shared", cwd=tmp_path)
    assert_refused(proc, "python", f"{folder}/experiment/shared.yaml", f"on the command line: python={script}")


def test_what_a_shared_file_may_set(tmp_path: Path) -> None:
    """Versions, the sweep's axes and the lab's own resolvers are shareable: no refusal."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    folder = shared_dir(
        tmp_path,
        {
            "experiment/shared.yaml": GLOBAL + f"python: '{version}'\nworkers: 2\nhydra:\n  sweeper:\n    params:\n"
            f"      python: {version},3.13t\n      workers: '${{lab.doubling:}}'\n      executor: thread,process\n"
        },
    )
    config.register()  # the lab's schemas, as its entry point registers them
    trust.check_files(str(folder), "config", ["+experiment=shared"], set())


def test_a_version_from_yaml_is_a_number_and_still_shareable() -> None:
    assert trust.rule("python", 3.1) is None and trust.rule("python", 3.12) is None
    assert trust.rule("python", None) is None and trust.rule("python", "3.13t,3.12") is None
    for program in ("/usr/bin/python3", "3", "python3", "~/bin/python", "3.12,/tmp/x"):
        assert trust.rule("python", program) is not None, program


@pytest.fixture(scope="module")
def typed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """One real run with an interpreter path and a cell environment typed on the command line."""
    tmp = tmp_path_factory.mktemp("typed")
    script, marker = canary(tmp / "bin")
    out = tmp / "run"
    proc = lab(
        f"python={script}",
        "++hydra.job.env_set.LAB_CANARY=typed",
        "workload=tiny",
        "executor=serial",
        "repeats=1",
        "warmup=0",
        "workload.tasks=1",
        f"hydra.run.dir={out}",
        cwd=tmp,
    )
    assert proc.returncode == 0, proc.stderr
    return out, script, marker


def test_the_same_values_typed_on_the_command_line_run(typed_run: tuple[Path, Path, Path]) -> None:
    out, _, marker = typed_run
    assert "typed -m runner.core.cell" in marker.read_text()  # the chosen interpreter, in the chosen environment
    assert (out / "results.csv").exists()


def replay(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "runner.replay", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def test_replay_of_a_received_directory_shows_and_refuses(typed_run: tuple[Path, Path, Path]) -> None:
    out, script, marker = typed_run
    marker.unlink()
    before = snapshot(out.parent)
    proc = replay(str(out), cwd=out.parent)
    assert str(script) in proc.stdout  # what it would run, shown before anything runs
    assert_refused(proc, "python", str(out / ".hydra" / "hydra.yaml"), "--trust")
    assert not marker.exists()
    assert snapshot(out.parent) == before


def test_replay_with_trust_goes_through(typed_run: tuple[Path, Path, Path]) -> None:
    out, script, _ = typed_run
    proc = replay(str(out), "--trust", "--dry-run", cwd=out.parent)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    assert f"python={script}" in proc.stdout


@pytest.fixture(scope="module")
def received_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real sweep, as a sender who edits its recorded overrides would send it."""
    tmp = tmp_path_factory.mktemp("received")
    out = tmp / "sweep"
    args = ["workload=tiny", "executor=serial", "repeats=1", "warmup=0", "workload.tasks=1", "report=false"]
    proc = lab("-m", *args, f"hydra.sweep.dir={out}", cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.parametrize(
    ("recorded", "key"),
    [
        ("hydra/launcher=submitit_slurm", "hydra/launcher"),
        ("++hydra.launcher.partition=gpu", "hydra.launcher.partition"),
        ("++hydra.job.env_set.LD_PRELOAD={tmp}/evil.so", "hydra.job.env_set.LD_PRELOAD"),
    ],
)
def test_replay_of_recorded_overrides_that_send_or_change_cells_refuses(
    received_sweep: Path, tmp_path: Path, recorded: str, key: str
) -> None:
    sweep = tmp_path / "sweep"
    shutil.copytree(received_sweep, sweep)
    multirun = sweep / "multirun.yaml"
    config = yaml.safe_load(multirun.read_text())
    config["hydra"]["overrides"]["task"].append(recorded.format(tmp=tmp_path))
    multirun.write_text(yaml.safe_dump(config))
    before = snapshot(tmp_path)
    proc = replay(str(sweep), cwd=tmp_path)
    assert_refused(proc, key, str(multirun), "--trust")
    assert snapshot(tmp_path) == before  # no replay directory, nothing run


def test_replay_refuses_a_recorded_environment(tmp_path: Path) -> None:
    with pytest.raises(trust.Refused, match=r"^hydra\.job\.env_set\.LD_PRELOAD: .* records"):
        trust.check_recorded(["workers=2", "++hydra.job.env_set.LD_PRELOAD=/x.so"], "multirun.yaml")
    with pytest.raises(trust.Refused, match=r"^hydra/launcher: "):
        trust.check_recorded(["hydra/launcher=submitit_slurm"], "multirun.yaml")
    with pytest.raises(trust.Refused, match=r"^python: "):
        trust.check_recorded(["python=3.12,/tmp/evil"], "multirun.yaml")
    trust.check_recorded(["python=3.12,3.13t", "workers=1,2", "+experiment=gil"], "multirun.yaml")


# --- a cell cannot take the machine down ---------------------------------------------


@pytest.mark.parametrize(
    ("mode", "limits", "status"),
    [("alloc", Limits(memory_mb=200), "oom"), ("fork", Limits(max_procs=16), "nproc")],
)
def test_a_runaway_cell_is_stopped(tmp_path: Path, mode: str, limits: Limits, status: str) -> None:
    spec = workload_spec(
        "fault",
        params={"mode": mode, "at": 0, "seconds": 0.02},
        executor={"name": "process", "options": {}},
        workers=2,
        start_method="fork",
        timeout_s=30.0,
    )
    result = run_cell(spec, tmp_path / "cell", limits)
    assert result["status"] == status, result["message"]
    assert "and was killed" in result["message"]
    deadline = time.monotonic() + 10  # SIGKILLed, a process that holds much memory takes a moment to end
    while _session(result["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _session(result["pid"]) == []  # every process the cell started is gone


@pytest.mark.slow
def test_a_sweep_goes_on_past_runaway_cells(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    proc = lab(
        "-m",
        "workload=fault",
        "workload.params.mode=alloc,raise",
        "workload.params.seconds=0.02",
        "workload.tasks=2",
        "executor=serial",
        "repeats=1",
        "warmup=0",
        "memory_mb=200",
        "timeout_s=30",
        f"hydra.sweep.dir={out}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    import pandas as pd

    results = pd.read_csv(out / "results.csv")
    assert sorted(results["status"]) == ["ok", "oom"]
    assert results.loc[results["status"] == "oom", "message"].str.contains("over memory_mb=200").all()


def test_a_limit_out_of_range_is_one_line(tmp_path: Path) -> None:
    proc = lab("memory_mb=0", cwd=tmp_path)
    assert_refused(proc, "memory_mb", "out of range")
    assert list(tmp_path.iterdir()) == []


# --- received results: read, never run, never written outside --------------------------


def path_of_canaries(folder: Path) -> tuple[str, Path]:
    """A PATH whose every program (git, sh, uname, ...) is a canary that records being run."""
    script, marker = canary(folder / "real", "any")
    for directory in os.environ["PATH"].split(os.pathsep):
        for program in Path(directory).glob("*") if Path(directory).is_dir() else []:
            link = folder / program.name
            if not link.exists():
                link.symlink_to(script)
    return f"{folder}{os.pathsep}{os.environ['PATH']}", marker


def test_report_and_compare_of_a_received_directory(tmp_path: Path) -> None:
    from benchmarks.synthetic import make_sweep

    hostile = [{"claim": HOSTILE_HTML, "where": "workers > 1", "check": "speedup > 0"}]
    received = tmp_path / "received"
    small = {"expect": hostile, "executors": ["serial", "thread"], "methods": ["fork"], "workers": [1, 2]}
    a = make_sweep(received / "a", small_design(**small))
    b = make_sweep(received / "b", small_design(**small), seed=1)
    path, marker = path_of_canaries(tmp_path / "bin")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PATH": path}
    outside = snapshot(tmp_path)
    for args, inside in (([str(a)], a), ([str(a), str(b)], b / "compare")):
        name = "runner.report" if len(args) == 1 else "runner.compare"
        proc = subprocess.run(
            [sys.executable, "-m", name, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
        )
        assert proc.returncode == 0, proc.stderr
        now = snapshot(tmp_path)
        changed = {p for p in now if now[p] != outside.get(p) and (tmp_path / p).is_file()}
        assert changed and all((tmp_path / p).is_relative_to(inside) for p in changed), changed
        outside = now
    assert not marker.exists()
    page = (a / "report.html").read_text()
    assert HOSTILE_HTML not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


def _linked_out(root: Path, name: str, target: Path) -> None:
    entry = root / name
    if entry.is_dir():
        shutil.rmtree(entry)
    else:
        entry.unlink(missing_ok=True)
    entry.symlink_to(target)


@pytest.mark.parametrize(
    ("command", "name", "expected"),
    [
        ("report", "plots", "plots: a symbolic link out of"),  # the figures would be written there
        ("report", "environment.json", "environment.json: a symbolic link out of"),  # its text would be shown
        ("report", "tasks.csv", "tasks.csv: a symbolic link out of"),  # /dev/zero would never end
        ("replay", "multirun.yaml", "multirun.yaml: a symbolic link out of"),  # the report only warns: no verdicts
        ("replay", "config", "config: a symbolic link out of"),
        ("sweep", "0", "0: a symbolic link out of"),  # a resumed sweep: Hydra writes the job's records there
        ("sweep", ".a", ".a: a symbolic link out of"),  # a loop of links, which resolve() cannot follow
        ("report", "summary.csv", "summary.csv: a symbolic link out of"),  # a loop where a file is read
    ],
)
def test_a_received_directory_s_links_lead_nowhere_outside(
    tmp_path: Path, command: str, name: str, expected: str
) -> None:
    from benchmarks.synthetic import make_sweep

    received = make_sweep(tmp_path / "received", small_design(executors=["serial", "thread"], workers=[1, 2]))
    (received / "config").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.json"
    secret.write_text('{"cpu_model": "SECRET"}')
    loops = {".a": received / ".a", "summary.csv": received / "summary.csv"}
    target = {"environment.json": secret, "tasks.csv": Path("/dev/zero"), "multirun.yaml": secret, **loops}.get(
        name, outside
    )
    _linked_out(received, name, target)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    argv = {
        "report": ["runner.report", str(received)],
        "compare": ["runner.compare", str(received), str(received)],
        "replay": ["runner.replay", str(received), "--dry-run"],
        "sweep": ["runner", "-m", "workload=tiny", f"hydra.sweep.dir={received}"],
    }[command]
    before = snapshot(outside)
    proc = subprocess.run(
        [sys.executable, "-m", *argv], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: ") and expected in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert "SECRET" not in proc.stdout + proc.stderr
    assert snapshot(outside) == before


def test_a_received_directory_s_names_reach_the_terminal_escaped(tmp_path: Path) -> None:
    from benchmarks.synthetic import make_sweep

    claim = [{"claim": "\x1b[2Kfast\x1b[31m", "where": "workers > 1", "check": "speedup > 0"}]
    design = small_design(executors=["serial", "thread"], workers=[1, 2], expect=claim)
    received = make_sweep(tmp_path / "received", design)
    results = pd.read_csv(received / "results.csv")
    results["workload"] = results["workload"].astype(object).replace("cpu", "\x1b[31mRED\x1b]0;title\x07")
    results.to_csv(received / "results.csv", index=False)
    (received / "summary.csv").unlink()  # summarised again from results.csv
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    for argv in (["runner.report", str(received)], ["runner.compare", str(received), str(received)]):
        proc = subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "\x1b" not in proc.stdout + proc.stderr and "\x07" not in proc.stdout + proc.stderr
        assert "\\x1b[31mRED" in proc.stdout
    assert "note: A and B are the same directory" in proc.stdout  # the compare of the directory with itself
    # replay shows the command it would run as it would run it; a link to /dev/zero is not read for its note
    (received / "environment.json").unlink()
    (received / "environment.json").symlink_to("/dev/zero")
    replay = dry_replay(received)
    assert replay.returncode == 0 and "\x1b" not in replay.stdout, replay.stderr


def dry_replay(received: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    command = [sys.executable, "-m", "runner.replay", str(received), "--dry-run"]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def test_a_small_received_file_cannot_cost_minutes_or_memory(tmp_path: Path) -> None:
    from benchmarks.synthetic import make_sweep

    received = make_sweep(tmp_path / "received", small_design(executors=["serial", "thread"], workers=[1, 2]))
    # a YAML alias bomb: nine levels of ten aliases are a billion items in under a kilobyte
    levels = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    recorded = (received / "multirun.yaml").read_text()
    (received / "multirun.yaml").write_text("\n".join(levels) + "\n" + recorded.replace("expect:", "expect: *l8\nold:"))
    replay = dry_replay(received)
    assert replay.returncode == 2 and "a YAML alias (*name)" in replay.stderr and len(replay.stderr) < 2200
    # deep nesting: 100 KB of brackets crashed the YAML reader (exit 139); a shape or an override Hydra
    # never writes: one line each
    for text, said in (
        # the lab's depth limit, or the YAML scanner's own where PyYAML has one: either way one line, no crash
        (recorded.replace("expect:", "deep: " + "[" * 50000 + "]" * 50000 + "\nexpect:"), "multirun.yaml: "),
        (recorded.replace("hydra:", "hydra:\n  runtime:\n    config_sources: 5", 1), "expected a list, found int"),
        (
            recorded.replace("    task:\n", '    task:\n    - "\\u00fc=1"\n', 1),
            "is not an override",
        ),
    ):
        (received / "multirun.yaml").write_text(text)
        replay = dry_replay(received)
        assert replay.returncode == 2 and said in replay.stderr and len(replay.stderr.splitlines()) == 1, replay.stderr
    # text times a number would allocate as much as the number says
    from runner.claims.expression import Expr, ExprError

    with pytest.raises(ExprError, match="arithmetic on text"):
        Expr("'a' * 100000000000 == 'b'", {"workers"}).evaluate({"workers": pd.Series([1, 2])})
