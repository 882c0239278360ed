"""Config composition through Hydra's compose API, and bad input on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, ValidationError

from runner.core.executors import EXECUTORS
from runner.paths import CONF_DIR
from runner.sweep import spec
from runner.sweep.validate import plain
from tests.conftest import lab


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


@pytest.mark.parametrize("name", [n for n in options("workload") if n != "custom"])
def test_every_workload_composes_and_validates(compose_cfg, name: str) -> None:
    cfg = compose_cfg([f"workload={name}"])
    built = spec.build(plain(cfg))
    assert built["workload"]["name"] == cfg.workload.name


def test_the_custom_workload_needs_a_name(compose_cfg) -> None:
    with pytest.raises(spec.SpecError, match=r"^workload.name: missing; .*allowed: .*\bcpu\b"):
        spec.build(plain(compose_cfg(["workload=custom"])))


@pytest.mark.parametrize("name", options("executor"))
def test_every_executor_composes_and_validates(compose_cfg, name: str) -> None:
    cfg = compose_cfg([f"executor={name}", "workers=3", "workload=sleep"])
    refusal = EXECUTORS[name].refuses("sleep")
    if refusal is not None:  # the interpreter executor, where this Python has no subinterpreter pool
        with pytest.raises(spec.SpecError, match=rf"^executor: {name} needs "):
            spec.build(plain(cfg))
        return
    built = spec.build(plain(cfg))
    assert built["executor"]["name"] == name


@pytest.mark.parametrize("method", options("start_method"))
def test_start_method_matters_to_processes_only(compose_cfg, method: str) -> None:
    process = spec.build(plain(compose_cfg(["executor=process", f"start_method={method}"])))
    thread = spec.build(plain(compose_cfg(["executor=thread", f"start_method={method}"])))
    assert process["start_method"] == method
    assert thread["start_method"] == ""


def test_equal_effective_configs_share_a_cell_id(compose_cfg) -> None:
    ids = {
        spec.cell_id(spec.build(plain(compose_cfg(["executor=thread", f"start_method={m}"]))))
        for m in options("start_method")
    }
    serial = {spec.cell_id(spec.build(plain(compose_cfg(["executor=serial", f"workers={w}"])))) for w in (1, 2, 8)}
    assert len(ids) == 1
    assert len(serial) == 1


def test_serial_cell_is_its_own_baseline(compose_cfg) -> None:
    serial = spec.build(plain(compose_cfg(["executor=serial"])))
    thread = spec.build(plain(compose_cfg(["executor=thread"])))
    assert spec.cell_id(spec.baseline(thread)) == spec.cell_id(serial)
    assert spec.cell_id(spec.baseline(serial)) == spec.cell_id(serial)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        (["workers=abc"], ValidationError),
        (["worker=2"], ConfigCompositionException),
        (["executor=nope"], ConfigCompositionException),
        (["workload.tasks=many"], ValidationError),
    ],
)
def test_types_and_unknown_keys_fail_at_compose(compose_cfg, overrides: list[str], error: type[Exception]) -> None:
    with pytest.raises((error, ConfigKeyError, ConfigAttributeError, ConfigCompositionException)):
        compose_cfg(overrides)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["workers=0"], "workers"),
        (["workers=100000"], "workers"),
        (["repeats=0"], "repeats"),
        (["workload.tasks=0"], "workload.tasks"),
        (["+workload.params.bogus=1"], "workload.params.bogus"),
        (["workload.params.n=fast"], "workload.params.n"),
        (["workload.name=nope"], "workload.name"),
        (["workload.fail_rate=2"], "workload.fail_rate"),
        (["timeout_s=0"], "timeout_s"),
    ],
)
def test_values_out_of_range_name_their_key(compose_cfg, overrides: list[str], key: str) -> None:
    with pytest.raises(spec.SpecError, match=rf"^{key}: "):
        spec.build(plain(compose_cfg(overrides)))


@pytest.mark.parametrize(
    "args",
    [
        ["workers=abc"],
        ["executor=nope"],
        ["worker=2"],
        ["+worker=2"],
        ["+executor.speed=2"],
        ["-m", "workers=1,0"],
        # found by composing every job before the sweep writes anything: its directory is not made
        ["-m", "workers=1,x"],
        ["-m", "workload=cpu,nope"],
        ["--resolve"],
        ["--hydra-help", "--resolve"],  # Hydra itself raises these as tracebacks
    ],
)
def test_bad_command_line_is_one_clear_error_and_writes_nothing(tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "out"
    proc = lab(*args, f"hydra.run.dir={out}", f"hydra.sweep.dir={out}", cwd=tmp_path)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip(), "the user must be told what went wrong"
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--help"], "== Configuration groups =="),
        (["--cfg", "job"], "workers: 4"),
        (["--info"], "Config search path"),
        # with the lab's own overrides on the line, as a user adds the flag to the command they run
        (["--hydra-help", "workers=2"], "== Flags =="),
        (["--hydra-help", "-m", "workers=1,2"], "== Flags =="),
        (["--help", "-m", "workers=1,2"], "== Configuration groups =="),
    ],
)
def test_hydra_flags_behave_as_in_any_hydra_app(tmp_path: Path, args: list[str], expect: str) -> None:
    proc = lab(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert expect in proc.stdout


def test_help_lists_every_group_option(tmp_path: Path) -> None:
    text = lab("--help", cwd=tmp_path).stdout
    for group in ("workload", "executor", "start_method"):
        for name in options(group):
            assert name in text
    assert "base_" not in text, "the schemas the options extend are not options"
