"""Run one cell spec in a fresh child interpreter and bring its result back.

Between two cells the sweep starts the next cell's interpreter ahead (``start_next``): Python's
start-up and the measuring core's imports overlap the sweep's bookkeeping, and the interpreter
waits, measuring nothing, until ``run_cell`` tells it which spec to measure. It is still a fresh
interpreter per cell; one started for an interpreter or environment the cell does not use is
discarded. The child runs in its own session (process group) so that a timeout, or Ctrl-C in
the sweep, ends it together with every process its pool started. While it runs, the
sweep watches the session's memory and process count (Linux ``/proc``): a cell that
allocates or forks without end is killed with status ``oom`` or ``nproc`` before it
takes the machine down. RLIMIT_AS would count reserved address space (thread stacks,
malloc arenas) and break honest cells; RLIMIT_NPROC does not bind root.
"""

from __future__ import annotations

import atexit
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
from runner.paths import child_environment


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


def _started(spec: dict[str, Any]) -> tuple[str, dict[str, str], str]:
    """How ``spec``'s interpreter is started: the program, its environment, the directory."""
    env = child_environment()
    if spec.get("gil") is not None:
        env["PYTHON_GIL"] = str(spec["gil"])
    return spec.get("python") or sys.executable, env, os.getcwd()


# The interpreter started ahead for the next cell, with how it was started; at most one.
_ahead: list[tuple[tuple[str, dict[str, str], str], subprocess.Popen[bytes]]] = []


def start_next(spec: dict[str, Any]) -> None:
    """Start an interpreter for the next cell now, as ``spec``'s would be started (the next cell
    usually runs under the same interpreter); call only while no cell is measuring."""
    discard()
    started = _started(spec)
    python, env, _ = started
    try:
        proc = subprocess.Popen(
            [python, "-m", "runner.core.cell", "--wait"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # it writes nothing before it is told where: the cell's own files
            env=env,
            start_new_session=True,
        )
    except OSError:  # no interpreter there, or no process to spare: the cell starts its own
        return
    _ahead.append((started, proc))


def discard() -> None:
    """End the interpreter started ahead, if any (the sweep is over, or the next cell needs another)."""
    while _ahead:
        proc = _ahead.pop()[1]
        _kill_group(proc)
        if proc.stdin is not None:
            proc.stdin.close()


atexit.register(discard)  # a command that stopped early (a failed job, Ctrl-C) leaves none waiting


def _take(started: tuple[str, dict[str, str], str], told: dict[str, str]) -> subprocess.Popen[bytes] | None:
    """The interpreter started ahead, told to measure, if it was started as this cell's would be."""
    if not _ahead:
        return None
    how, proc = _ahead[-1]
    if how != started or proc.poll() is not None or proc.stdin is None:
        discard()
        return None
    _ahead.pop()
    try:
        proc.stdin.write(json.dumps(told).encode() + b"\n")
        proc.stdin.close()
    except OSError:  # it died since
        _kill_group(proc)
        return None
    return proc


def _start(spec: dict[str, Any], told: dict[str, str]) -> tuple[subprocess.Popen[bytes], bool]:
    """The cell's interpreter, measuring: the one started ahead where it fits, else a new one; and
    whether it was started ahead."""
    started = _started(spec)
    proc = _take(started, told)
    if proc is not None:
        return proc, True
    python, env, _ = started
    with open(told["stdout"], "wb") as out, open(told["stderr"], "wb") as err:
        fresh = subprocess.Popen(
            [python, "-m", "runner.core.cell", told["spec"], told["result"]],
            stdout=out,
            stderr=err,
            env=env,
            start_new_session=True,
        )
    return fresh, False


def run_cell(spec: dict[str, Any], workdir: Path, limits: Limits | None = None) -> dict[str, Any]:
    """Measure ``spec`` under its interpreter; the result's status says ok, error, timeout, oom or nproc."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec_path, result_path = workdir / "spec.json", workdir / "result.json"
    stderr_path = workdir / "stderr.txt"
    write_json(spec_path, spec)
    result_path.unlink(missing_ok=True)
    stderr_path.unlink(missing_ok=True)
    told = {"spec": str(spec_path), "result": str(result_path), "stdout": str(workdir / "stdout.txt")}
    proc, ahead = _start(spec, {**told, "stderr": str(stderr_path)})
    try:
        code = _wait(proc, spec["timeout_s"], limits or Limits())
    except BaseException:
        _kill_group(proc)
        raise
    _kill_group(proc)  # whatever the cell started outlives it only by mistake
    if ahead and not stderr_path.exists():  # it ended before it was told (a failed start): say why, afresh
        return run_cell(spec, workdir, limits)
    if isinstance(code, dict):
        return code
    if code != 0 or not result_path.exists():
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
        return _failure("error", f"cell interpreter {how}: {_tail(stderr_path)}".rstrip(": "), proc.pid)
    result: dict[str, Any] = json.loads(result_path.read_text())
    result["pid"] = proc.pid  # the cell's session id: what a leak check looks for
    return result
