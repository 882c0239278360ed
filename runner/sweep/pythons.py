"""The ``python`` axis: which interpreter runs a cell, found from a path or a version.

Standard library only. ``python=3.12`` looks for ``python3.12`` in pyenv's versions,
then on PATH; ``python=/path/to/python3.13t`` is taken as given. Every candidate is
asked what it is (version, build, GIL) by running it once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from runner.paths import child_environment

OLDEST = (3, 10)  # the measuring core's own syntax and stdlib needs
# An executor's refusal, asked of the interpreter that will run the cell (the measuring core is
# standard library only, so any interpreter the lab runs can import the registry)
REFUSAL = (
    "import json, sys; from runner.core.executors import EXECUTORS; "
    "print(json.dumps(EXECUTORS[sys.argv[1]].refuses(sys.argv[2])))"
)
PROBE = (
    "import json, platform, sys, sysconfig; g = getattr(sys, '_is_gil_enabled', None); "
    "print(json.dumps({'version': platform.python_version(), 'implementation': platform.python_implementation(), "
    "'free_threaded_build': bool(sysconfig.get_config_var('Py_GIL_DISABLED')), "
    "'gil': bool(g()) if g else True, 'version_info': list(sys.version_info[:2])}))"
)


class InterpreterError(ValueError):
    """No usable interpreter for the ``python`` or ``gil`` value."""


def _pyenv_versions() -> Path:
    return Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"


def found_here() -> list[str]:
    """Version shorthands that resolve on this machine, for error messages."""
    versions = {m.group(1) for p in _pyenv_versions().glob("*") if (m := re.match(r"(\d+\.\d+)", p.name))}
    return sorted(
        (v for v in versions if tuple(map(int, v.split("."))) >= OLDEST), key=lambda v: tuple(map(int, v.split(".")))
    )


@cache
def probe(path: str) -> dict[str, Any]:
    """What the interpreter at ``path`` is; InterpreterError if it does not run."""
    try:
        out = subprocess.run([path, "-c", PROBE], capture_output=True, text=True, timeout=30, check=True)
        info: dict[str, Any] = json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise InterpreterError(f"python: {path} does not run as a Python interpreter ({exc})") from None
    if tuple(info["version_info"]) < OLDEST:
        raise InterpreterError(
            f"python: {path} is Python {info['version']}; allowed: {'.'.join(map(str, OLDEST))} or newer"
        )
    return info


def _candidates(version: str) -> list[Path]:
    base, threaded = version.rstrip("t"), version.endswith("t")
    pattern = re.compile(rf"{re.escape(base)}\.\d+{'t' if threaded else ''}$")
    pyenv = sorted(
        (p for p in _pyenv_versions().glob(f"{base}.*") if pattern.match(p.name)),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p.name)],
        reverse=True,
    )
    found = [p / "bin" / f"python{version}" for p in pyenv]
    on_path = shutil.which(f"python{version}")
    return [p for p in found if p.exists()] + ([Path(on_path)] if on_path else [])


def resolve(requested: str) -> str:
    """An absolute interpreter path for ``requested``: empty (this one), a version, or a path."""
    if not requested:
        return sys.executable
    if requested == "3.1":  # YAML and Hydra read python=3.10 as the number 3.1; no Python 3.1 runs the core
        requested = "3.10"
    if re.fullmatch(r"\d+\.\d+t?", requested):
        if tuple(int(x) for x in requested.rstrip("t").split(".")) < OLDEST:
            raise InterpreterError(
                f"python: {requested} is older than the measuring core runs on; allowed: a version from "
                f"{'.'.join(map(str, OLDEST))} on ({', '.join(found_here()) or 'none found here'}), or a path"
            )
        for candidate in _candidates(requested):
            try:
                probe(str(candidate))
            except InterpreterError as exc:
                if "allowed:" in str(exc):
                    raise  # found, but too old
                continue  # a pyenv shim for a version that is not installed
            return str(candidate)
        raise InterpreterError(
            f"python: no Python {requested} found in pyenv or on PATH; allowed: a path, or one of "
            f"{', '.join(found_here()) or 'none found'}"
        )
    path = shutil.which(os.path.expanduser(requested))
    if path is None:
        raise InterpreterError(f"python: {requested} is not an executable; allowed: a path, or a version like 3.12")
    probe(path)
    return str(Path(path).absolute())


def check_gil(path: str, gil: int | None) -> None:
    """``gil=0|1`` sets PYTHON_GIL, which only a free-threaded build honours."""
    if gil is None:
        return
    if gil not in (0, 1):
        raise InterpreterError(f"gil: {gil}; allowed: 0 (off), 1 (on), or unset")
    info = probe(path)
    if not info["free_threaded_build"]:
        raise InterpreterError(
            f"gil: Python {info['version']} at {path} is not a free-threaded build and always has the GIL; "
            "allowed: gil unset, or python= a free-threaded build (e.g. python=3.13t)"
        )


def refusal(path: str, executor: str, workload: str) -> str | None:
    """Why the interpreter at ``path`` cannot run ``workload`` on ``executor`` (what it lacks:
    the interpreter executor's pool, dask.distributed), in its own words; None if it can.

    Asked of that interpreter: packages and the standard library differ from one to the next,
    and a sweep on Python 3.11 can measure the interpreter executor on 3.13 with its backport.
    """
    if path == sys.executable:
        from runner.core.executors import EXECUTORS

        return EXECUTORS[executor].refuses(workload)
    return _asked(path, executor, workload)


@cache  # one run of the other interpreter per executor and workload, however many cells share them
def _asked(path: str, executor: str, workload: str) -> str | None:
    env = child_environment()
    try:
        out = subprocess.run(
            [path, "-c", REFUSAL, executor, workload], capture_output=True, text=True, timeout=60, check=True, env=env
        )
        # the last line: a workload module may print as it is imported
        said: str | None = json.loads((out.stdout.strip().splitlines() or [""])[-1])
    except subprocess.CalledProcessError as exc:
        last = (exc.stderr.strip().splitlines() or ["no output"])[-1]
        return f"{executor} with workload {workload!r} does not load under {path} ({last}); allowed: another python"
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise InterpreterError(f"python: {path} does not run as a Python interpreter ({exc})") from None
    return said
