"""Run one cell spec in a fresh child interpreter and bring its result back.

The child runs in its own session (process group) so that a timeout, or Ctrl-C in
the sweep, ends it together with every process its pool started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from runner.cell import write_json
from runner.paths import PROJECT_ROOT


def _failure(status: str, message: str, pid: int) -> dict[str, Any]:
    return {"status": status, "message": message, "reps": [], "pid": pid}


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def run_cell(spec: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Measure ``spec`` under its interpreter; the result's status says ok, error or timeout."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec_path, result_path = workdir / "spec.json", workdir / "result.json"
    stderr_path = workdir / "stderr.txt"
    write_json(spec_path, spec)
    result_path.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
    if spec.get("gil") is not None:
        env["PYTHON_GIL"] = str(spec["gil"])
    python = spec.get("python") or sys.executable
    with open(workdir / "stdout.txt", "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            [python, "-m", "runner.cell", str(spec_path), str(result_path)],
            stdout=out,
            stderr=err,
            env=env,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout=spec["timeout_s"])
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return _failure("timeout", f"cell exceeded timeout_s={spec['timeout_s']:g} and was killed", proc.pid)
        except BaseException:
            _kill_group(proc)
            raise
    _kill_group(proc)  # whatever the cell started outlives it only by mistake
    if code != 0 or not result_path.exists():
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
        return _failure("error", f"cell interpreter {how}: {_tail(stderr_path)}".rstrip(": "), proc.pid)
    result: dict[str, Any] = json.loads(result_path.read_text())
    result["pid"] = proc.pid  # the cell's session id: what a leak check looks for
    return result
