"""Run one cell spec in a fresh child interpreter and bring its result back.

The child runs in its own session (process group) so that a timeout, or Ctrl-C in
the sweep, ends it together with every process its pool started. While it runs, the
sweep watches the session's memory and process count (Linux ``/proc``): a cell that
allocates or forks without end is killed with status ``oom`` or ``nproc`` before it
takes the machine down. RLIMIT_AS would count reserved address space (thread stacks,
malloc arenas) and break honest cells; RLIMIT_NPROC does not bind root.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.files import write_json
from runner.paths import PROJECT_ROOT


def _failure(status: str, message: str, pid: int) -> dict[str, Any]:
    return {"status": status, "message": message, "reps": [], "pid": pid}


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


WATCH_S = 0.2  # how often the watch looks: rare enough not to disturb the cell, often enough to stop a runaway early
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20 if hasattr(os, "sysconf") else 0.0
MAX_PROCS = 2048  # a pool of the largest allowed size (1024 workers) fits twice


def machine_memory_mb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (AttributeError, ValueError, OSError):
        return None


@dataclass(frozen=True)
class Limits:
    """What one cell may use, summed over every process of its session."""

    memory_mb: float | None = None  # None: half of the machine's memory
    max_procs: int = MAX_PROCS

    def memory(self) -> float | None:
        machine = machine_memory_mb()
        return self.memory_mb if self.memory_mb is not None else (machine / 2 if machine else None)


def _session(sid: int) -> list[int]:
    """Every process in session ``sid``, double-forked orphans included (getsid: no file to read)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                if os.getsid(int(name)) == sid:
                    found.append(int(name))
    return found


def _memory_mb(pids: list[int], field: str) -> float:
    """Resident memory of ``pids``: ``rss`` (statm, cheap) or ``Pss`` (shared pages split
    between the processes that share them, as a forked pool does)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError, StopIteration):
            if field == "rss":
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_MB
            else:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
                total += int(next(x for x in rollup if x.startswith("Pss:")).split()[1]) / 1024
    return total


def over_limit(sid: int, limits: Limits) -> dict[str, Any] | None:
    """The failure of a session over its limits, or None (also where there is no /proc)."""
    if not os.path.isdir("/proc"):
        return None
    pids = _session(sid)
    if len(pids) > limits.max_procs:
        return _failure("nproc", f"cell ran {len(pids)} processes, over max_procs={limits.max_procs}", sid)
    cap = limits.memory()
    # the summed RSS counts a forked pool's shared pages once per worker; Pss settles it
    if cap is not None and _memory_mb(pids, "rss") > cap:
        used = _memory_mb(pids, "Pss") or _memory_mb(pids, "rss")
        if used > cap:
            return _failure("oom", f"cell used {used:.0f} MB, over memory_mb={cap:.0f}", sid)
    return None


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def _wait(proc: subprocess.Popen[bytes], timeout_s: float, limits: Limits) -> int | dict[str, Any]:
    """The exit code of the cell, or the failure that ended it (timeout, oom, nproc).

    A thread blocks in waitpid, so the sweep learns of the exit at once: ``Popen.wait`` with a
    timeout polls, sleeping up to 50 ms, which every cell of a sweep paid (docs/overhead.md).
    """
    exited = threading.Event()

    def reap() -> None:
        try:
            proc.wait()
        finally:  # a wait that failed must not pass for a cell still running
            exited.set()

    threading.Thread(target=reap, name="cell-waiter", daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while not exited.wait(max(0.0, min(WATCH_S, deadline - time.monotonic()))):
        if time.monotonic() >= deadline:
            return _failure("timeout", f"cell exceeded timeout_s={timeout_s:g} and was killed", proc.pid)
        failure = over_limit(proc.pid, limits)
        if failure is not None:
            failure["message"] += " and was killed"
            return failure
    if proc.returncode is None:
        return _failure("error", "the wait for the cell interpreter failed", proc.pid)
    return proc.returncode


def run_cell(spec: dict[str, Any], workdir: Path, limits: Limits | None = None) -> dict[str, Any]:
    """Measure ``spec`` under its interpreter; the result's status says ok, error, timeout, oom or nproc."""
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
            [python, "-m", "runner.core.cell", str(spec_path), str(result_path)],
            stdout=out,
            stderr=err,
            env=env,
            start_new_session=True,
        )
        try:
            code = _wait(proc, spec["timeout_s"], limits or Limits())
        except BaseException:
            _kill_group(proc)
            raise
    _kill_group(proc)  # whatever the cell started outlives it only by mistake
    if isinstance(code, dict):
        return code
    if code != 0 or not result_path.exists():
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
        return _failure("error", f"cell interpreter {how}: {_tail(stderr_path)}".rstrip(": "), proc.pid)
    result: dict[str, Any] = json.loads(result_path.read_text())
    result["pid"] = proc.pid  # the cell's session id: what a leak check looks for
    return result
