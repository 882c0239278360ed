"""What a sweep ran on: environment.json, in the spirit of pyperf's metadata."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

from runner.core.native import ENV_VARS
from runner.core.probes import describe_python, load_average
from runner.files import TIDY_SCHEMA
from runner.paths import PROJECT_ROOT

# the version of environment.json and of the tidy CSVs beside it
PACKAGES = (
    "concurrency-lab",
    "hydra-core",
    "omegaconf",
    "pandas",
    "numpy",
    "scipy",
    "matplotlib",
    "rich",
    "threadpoolctl",
)


def _cpu_model() -> str:
    return _field("/proc/cpuinfo", "model name") or platform.processor()


def _memory_gib() -> float | None:
    kib = _field("/proc/meminfo", "MemTotal")
    return round(int(kib.split()[0]) / 2**20, 2) if kib else None


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def _versions() -> dict[str, str | None]:
    # imported here: with the email parser it brings, 15 ms that --help and every one-line error
    # would pay for nothing (they import this module through the sweep's summary helper)
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _field(path: str, name: str) -> str | None:
    """The value of the first ``name:`` line (or ``name value`` line) of a /proc file."""
    for line in (_read(path) or "").splitlines():
        if line.startswith(name):
            return line[len(name) :].lstrip(" \t:")
    return None


def _cpu_frequency_mhz() -> float | None:
    khz = _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq")
    if khz:
        return int(khz) / 1000
    mhz = _field("/proc/cpuinfo", "cpu MHz")
    return float(mhz) if mhz else None


def _runnable() -> int | None:
    running = _field("/proc/stat", "procs_running")
    return int(running) if running else None


def topology() -> dict[str, Any]:
    """Logical CPUs, physical cores and SMT, and how the CPU's frequency is managed.

    Two logical CPUs of one core (SMT, hyper-threading) share its execution units: on
    them, CPU work scales to about the physical cores, not the logical ones, so the report
    says which kind its "cores" are.
    """
    cpus = sorted(Path("/sys/devices/system/cpu").glob("cpu[0-9]*/topology"))
    cores = {
        (_read(str(t / "physical_package_id")), _read(str(t / "core_id")))
        for t in cpus
        if _read(str(t / "core_id")) is not None
    }
    logical = os.cpu_count()
    physical = len(cores) or None
    smt = _read("/sys/devices/system/cpu/smt/active")
    freq = "/sys/devices/system/cpu/cpu0/cpufreq"
    return {
        "logical_cpus": logical,
        "physical_cores": physical,
        "threads_per_core": round(logical / physical) if logical and physical else None,
        "smt_active": smt == "1" if smt is not None else None,
        "cpu_scaling_driver": _read(f"{freq}/scaling_driver"),
        "cpu_min_mhz": _khz_to_mhz(_read(f"{freq}/cpuinfo_min_freq")),
        "cpu_max_mhz": _khz_to_mhz(_read(f"{freq}/cpuinfo_max_freq")),
    }


def _khz_to_mhz(khz: str | None) -> float | None:
    return int(khz) / 1000 if khz else None


def smt_note(env: dict[str, Any]) -> str:
    """What "cores" means for this sweep's machine, where SMT makes it ambiguous ("" where not)."""
    physical = env.get("physical_cores")
    if env.get("smt_active") and physical:
        return f"logical CPUs; SMT is on: {physical} physical cores"
    return ""


def collect() -> dict[str, Any]:
    """The machine and interpreter, in the spirit of pyperf's metadata."""
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    uptime = _read("/proc/uptime")
    perf_counter = time.get_clock_info("perf_counter")
    return {
        "schema": TIDY_SCHEMA,
        **describe_python(),
        "python_build": platform.python_build(),
        "python_compiler": platform.python_compiler(),
        "python_cflags": sysconfig.get_config_var("CFLAGS"),
        "hash_seed": os.environ.get("PYTHONHASHSEED"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "hostname": platform.node(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        "cpu_frequency_mhz": _cpu_frequency_mhz(),
        "cpu_governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        **topology(),
        "cpu_isolated": _read("/sys/devices/system/cpu/isolated"),
        "aslr": _read("/proc/sys/kernel/randomize_va_space"),
        "uptime_s": float(uptime.split()[0]) if uptime else None,
        "runnable_threads": _runnable(),
        "memory_gib": _memory_gib(),
        "timer": f"{perf_counter.implementation}, resolution {perf_counter.resolution:g} s",
        "load_before": load_average(),
        "packages": _versions(),
        # what sizes native pools (BLAS, OpenMP) in every cell; native_pools_seen (after the sweep) is what they ran
        "native_environment": {v: os.environ[v] for v in (*ENV_VARS, "OPENBLAS_CORETYPE") if v in os.environ},
        "git_revision": _git("rev-parse", "HEAD") or None,
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def cores(env: dict[str, Any]) -> int:
    """The cores this sweep could use: its CPU affinity, else the machine's count."""
    affinity = env.get("cpu_affinity")
    return len(affinity) if affinity else int(env.get("cpu_count") or os.cpu_count() or 1)


def read_environment(root: Path) -> dict[str, Any]:
    path = root / "environment.json"
    env = json.loads(path.read_text()) if path.exists() else {}
    if not isinstance(env, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return env


def session(overrides: list[str]) -> dict[str, Any]:
    """One invocation's part of environment.json: a resumed sweep has several."""
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "overrides": overrides,
        "load_before": load_average(),
    }
