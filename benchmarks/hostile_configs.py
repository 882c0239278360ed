"""A campaign of generated hostile shared configs against the lab's trust rules (docs/security.md).

    python benchmarks/hostile_configs.py                  # 2000 configs, every 100th through the real CLI
    python benchmarks/hostile_configs.py --count 200 --cli-every 20

Each example is a received ``--config-dir``: an experiment file (and sometimes a workload
file it sweeps) built from the lab's and Hydra's keys with hostile values: interpreter
paths that are canaries, ``${oc.env:...}`` and other resolvers, ``_target_`` anywhere,
deep nesting, huge lists, non-UTF-8 bytes, YAML anchors and merge keys, ``!!python``
tags. Two oracles judge it, neither of which reads runner/sweep/trust.py's rules:

- ``composed_violations`` (in-process, every example): run the CLI's own preflight; if it
  lets the file through and Hydra composes it, the composed config must hold nothing a
  shared file may not choose: Hydra's node as without the file (but for the sweep's axes),
  an interpreter that is a version, no cluster address, no resolver but the lab's.
- ``cli_violations`` (a subprocess, every ``--cli-every``-th example): ``python -m runner -m``
  on it with a PATH of canaries; exit status 0 or 2, one ``error:`` line on failure and no
  traceback, no canary ran, nothing changed outside the sweep directory.

tests/test_security_properties.py runs the same strategy and oracles briefly in CI.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.paths import PROJECT_ROOT
from runner.sweep import config, trust

CANARY = "@CANARY@"  # replaced by the path of an executable that records being run
TMP = "@TMP@"  # replaced by the example's directory
# what the lab itself runs from PATH: environment.json's git revision; platform's uname
LAB_PROGRAMS = {"git", "uname"}

VALUES = st.one_of(
    st.just(CANARY),
    st.just(f"{TMP}/elsewhere"),
    st.just("../../../elsewhere"),
    st.just("/etc/passwd"),
    st.sampled_from(["${oc.env:HOME}", "${oc.env:PATH,x}", "${oc.decode:'1'}", "${oc.create:{a: 1}}"]),
    st.sampled_from(["${lab.doubling:}", "${now:%H}", "${workers}", "${hydra:runtime.cwd}"]),
    st.sampled_from(["os.system", "subprocess.Popen", "builtins.eval", "logging.FileHandler"]),
    st.sampled_from([3.12, 3.1, "3.13t", "3.11", 2, 0, -1, True, None]),
    st.text(max_size=12),
    st.just("<script>alert(1)</script>"),
    st.lists(st.integers(), min_size=500, max_size=2000).map(lambda x: x),
    st.recursive(st.just("deep"), lambda inner: st.dictionaries(st.just("x"), inner, min_size=1), max_leaves=60),
)

KEYS = st.sampled_from(
    [
        "python", "workers", "repeats", "gil", "timeout_s", "memory_mb", "max_procs", "seed",
        "executor.address", "executor.name", "workload.name", "workload.params.n", "workload._target_", "_target_",
        "expect", "hydra.job.env_set.LD_PRELOAD", "hydra.job.env_set.PYTHONPATH", "hydra.job.env_copy",
        "hydra.launcher._target_", "hydra.callbacks.evil._target_", "hydra.job_logging.handlers.f.class",
        "hydra.job_logging.handlers.f.()", "hydra.job_logging.handlers.f.filename", "hydra.hydra_logging.root.level",
        "hydra.searchpath", "hydra.job.chdir", "hydra.run.dir", "hydra.sweep.dir", "hydra.sweep.subdir",
        "hydra.output_subdir", "hydra.job.name", "hydra.verbose", "hydra.sweeper._target_",
        "hydra.sweeper.params.python", "hydra.sweeper.params.workers", "hydra.sweeper.params.workload",
        "hydra.sweeper.params.+hydra.job.env_set.X", "hydra.sweeper.params.hydra/launcher",
        "hydra.sweeper.params.executor.address",
    ]
)  # fmt: skip

DEFAULTS = st.lists(
    st.sampled_from(
        [
            {"override /workload": "sleep"},
            {"override /executor": "process"},
            {"override /hydra/launcher": "submitit_local"},
            {"override /hydra/job_logging": "disabled"},
            {"override /hydra/sweeper": "basic"},
            "/workload/cpu@hydra.job",
            "/workload/cpu@hydra.launcher",
            {"/workload@hydra.job.env_set": "cpu"},
            "_self_",
        ]
    ),
    max_size=3,
)


def _nest(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Dotted keys to nested mappings; a key that clashes with a leaf replaces it."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        node = root
        parts = key.split(".") if not key.startswith("hydra.sweeper.params.") else [
            "hydra", "sweeper", "params", key.removeprefix("hydra.sweeper.params.")
        ]  # fmt: skip
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        if parts[-1] in ("workload", "python", "workers") and node is not root and isinstance(value, (int, float)):
            value = str(value)
        node[parts[-1]] = value
    return root


@st.composite
def shared_configs(draw: st.DrawFn) -> dict[str, bytes]:
    """The files of a received config directory: experiment/shared.yaml and maybe a workload."""
    body = _nest(draw(st.lists(st.tuples(KEYS, VALUES), max_size=6)))
    defaults = draw(DEFAULTS)
    if defaults:
        body = {"defaults": defaults, **body}
    text = "# @package _global_\n" + yaml.safe_dump(body, default_flow_style=False, width=10**6)
    twist = draw(st.sampled_from(["none", "anchor", "tag", "bytes", "sweep-a-file", "depth"]))
    files: dict[str, bytes] = {}
    if twist == "anchor":
        text += "base: &base {n: 1, python: " + CANARY + "}\nworkload:\n  params:\n    <<: *base\n"
    elif twist == "tag":
        tags = ["!!python/object/apply:os.system ['touch x']", "!!python/name:os.system", "!!binary AA=="]
        tag = draw(st.sampled_from(tags))
        text += f"seed: {tag}\n"
    elif twist == "depth":
        depth = draw(st.integers(50, 400))
        text += "deep: " + "[" * depth + "]" * depth + "\n"
    elif twist == "sweep-a-file":
        text += "hydra:\n  sweeper:\n    params:\n      workload: cpu,received\n" if "hydra" not in body else ""
        files["workload/received.yaml"] = ("# @package _global_\npython: " + CANARY + "\n").encode()
    data = text.encode()
    if twist == "bytes":
        data += b"\nx: \xff\xfe\x00\n"
    files["experiment/shared.yaml"] = data
    return files


def canary(folder: Path) -> tuple[Path, Path]:
    """An executable that appends its own name to a marker file and fails."""
    folder.mkdir(parents=True, exist_ok=True)
    marker, script = folder.parent / "canary.ran", folder / "canary"
    # shell builtins only: every program on the canaries' PATH is a canary itself
    script.write_text(f'#!/bin/sh\necho "${{0##*/}}" >> {marker}\nexit 1\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, marker


def write_example(files: dict[str, bytes], root: Path, script: Path) -> Path:
    folder = root / "received"
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.replace(CANARY.encode(), str(script).encode()).replace(TMP.encode(), str(root).encode()))
    return folder


RESOLVER = re.compile(r"\$\{\s*([A-Za-z_][\w.-]*)\s*:")


def _resolvers(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set().union(*(_resolvers(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_resolvers(v) for v in node)) if node else set()
    return set(RESOLVER.findall(str(node))) if isinstance(node, str) else set()


def _compose(folder: Path | None, overrides: list[str]) -> Any:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    extra = [f"hydra.searchpath=[file://{folder}]"] if folder else []
    try:
        with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
            cfg = compose(config_name="config", overrides=[*overrides, *extra], return_hydra_config=True)
        return OmegaConf.to_container(cfg, resolve=False)
    finally:
        GlobalHydra.instance().clear()


HYDRA_VARYING = ("sweeper", "runtime", "overrides", "searchpath", "job")


def composed_violations(files: dict[str, bytes], root: Path) -> tuple[str, list[str]]:
    """How the lab took a shared file (refused, not composed, accepted), and what it got
    through to the composed config (in-process)."""
    from runner import cli

    script, _ = canary(root / "bin")
    folder = write_example(files, root, script)
    argv = ["-m", "--config-dir", str(folder), "+experiment=shared"]
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            cli.preflight(argv)
    except (trust.Refused, cli.UnsafeConfig):
        return "refused", []
    except RecursionError:
        return "not composed", []  # too deep for Hydra itself; the CLI oracle checks it is one line
    try:
        cfg = _compose(folder, ["+experiment=shared"])
    except Exception:  # Hydra refuses it itself; the CLI oracle checks how
        return "not composed", []
    return "accepted", _hydra_violations(cfg["hydra"], _compose(None, [])["hydra"], folder) + _lab_violations(cfg)


def _without(node: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k not in keys}


def _hydra_violations(hydra: dict[str, Any], plain: dict[str, Any], folder: Path) -> list[str]:
    """Hydra's node against the one composed without the shared file."""
    found = [f"hydra.{k}: {hydra.get(k)!r}" for k in plain if k not in HYDRA_VARYING and hydra.get(k) != plain[k]]
    per_job = ("override_dirname", "name", "id", "num")
    if _without(hydra["job"], *per_job) != _without(plain["job"], *per_job):
        found.append(f"hydra.job changed: {hydra['job']!r}")
    if hydra["searchpath"] != [f"file://{folder}"]:
        found.append(f"hydra.searchpath: {hydra['searchpath']!r}")
    if _without(hydra["sweeper"], "params") != _without(plain["sweeper"], "params"):
        found.append("hydra.sweeper changed")
    for key, value in (hydra["sweeper"].get("params") or {}).items():
        name = str(key).lstrip("+~")
        if name.startswith(("hydra", "/hydra", "executor.address")):
            found.append(f"swept {key}")
        if name == "python" and not all(trust.VERSION.fullmatch(v.strip()) for v in str(value).split(",")):
            found.append(f"swept python={value!r}")
    return found


def _lab_violations(cfg: dict[str, Any]) -> list[str]:
    found = []
    python = str(cfg.get("python") or "")
    if python and not trust.VERSION.fullmatch(python):
        found.append(f"python={python!r}")
    if (cfg.get("executor") or {}).get("address"):
        found.append("executor.address")
    used = _resolvers(_without(cfg, "hydra")) | _resolvers(cfg["hydra"]["sweeper"].get("params") or {})
    return found + [f"resolver {r}" for r in used - set(trust.SHAREABLE_RESOLVERS)]


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def path_of_canaries(folder: Path, script: Path) -> str:
    """PATH with every program on it shadowed by the canary."""
    folder.mkdir(parents=True, exist_ok=True)
    for directory in os.environ["PATH"].split(os.pathsep):
        for program in Path(directory).glob("*") if Path(directory).is_dir() else []:
            link = folder / program.name
            if not link.exists() and program.name != script.name:
                link.symlink_to(script)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def cli_violations(files: dict[str, bytes], root: Path) -> list[str]:
    """What ``python -m runner -m`` did with a shared file that it must not (a subprocess)."""
    script, marker = canary(root / "bin")
    folder = write_example(files, root, script)
    out = root / "sweep"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PATH": path_of_canaries(root / "path", script)}
    env.pop("HYDRA_FULL_ERROR", None)
    tiny = ["workload=tiny", "executor=serial", "repeats=1", "warmup=0", "workload.tasks=1", "timeout_s=60"]
    before = _snapshot(root)
    proc = subprocess.run(
        [sys.executable, "-m", "runner", "-m", "--config-dir", str(folder), "+experiment=shared", *tiny,
         f"hydra.sweep.dir={out}"],
        capture_output=True, text=True, env=env, cwd=root, timeout=600,
    )  # fmt: skip
    found = []
    if proc.returncode not in (0, 2):
        found.append(f"exit status {proc.returncode}")
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        if len(lines) != 1 or not lines[0].startswith("error: "):
            found.append(f"not one error line: {proc.stderr[-300:]!r}")
    if "Traceback" in proc.stderr + proc.stdout:
        found.append("traceback")
    ran = set(marker.read_text().split()) - LAB_PROGRAMS if marker.exists() else set()
    if ran:
        found.append(f"ran {sorted(ran)}")
    after = _snapshot(root)
    changed = [p for p in after if after[p] != before.get(p) and not (root / p).is_relative_to(out)]
    changed = [p for p in changed if p != "canary.ran"]
    if changed:
        found.append(f"wrote outside the sweep: {changed[:3]}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="generated configs (default 2000)")
    parser.add_argument("--cli-every", type=int, default=100, help="every Nth also through the real CLI")
    args = parser.parse_args()
    config.register()
    tally = {"examples": 0, "cli": 0, "violations": 0, "refused": 0, "not composed": 0, "accepted": 0}
    started = time.perf_counter()

    @settings(
        max_examples=args.count, deadline=None, database=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(shared_configs())
    def campaign(files: dict[str, bytes]) -> None:
        tally["examples"] += 1
        with tempfile.TemporaryDirectory() as tmp:
            outcome, found = composed_violations(files, Path(tmp))
        tally[outcome] += 1
        if tally["examples"] % args.cli_every == 0:
            tally["cli"] += 1
            with tempfile.TemporaryDirectory() as tmp:
                found += cli_violations(files, Path(tmp))
        if found:
            tally["violations"] += 1
            print(f"VIOLATION {found}\n{files!r}", flush=True)
        if tally["examples"] % 100 == 0:
            print(f"{tally} after {time.perf_counter() - started:.0f} s", flush=True)

    campaign()
    print(f"done: {tally['examples']} generated shared configs ({tally['refused']} refused, {tally['not composed']} "
          f"not composed by Hydra, {tally['accepted']} accepted), {tally['cli']} of them through the real CLI, "
          f"{tally['violations']} violations, {time.perf_counter() - started:.0f} s")  # fmt: skip
    sys.exit(1 if tally["violations"] else 0)


if __name__ == "__main__":
    main()
