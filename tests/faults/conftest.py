"""Helpers to inject faults into real sweeps and inspect what they leave behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runner.paths import PROJECT_ROOT


def start_lab(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """``python -m runner ARGS`` in its own process group, as a terminal runs a foreground job."""
    # A job a shell starts in the background inherits SIGINT ignored, and so would the lab under a
    # test run started that way; a terminal's foreground job takes Ctrl-C. A handler of ours is
    # reset to the default across exec, where an ignored signal stays ignored.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return subprocess.Popen(
        [sys.executable, "-m", "runner", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for(condition: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def processes() -> list[tuple[int, int, int, str]]:
    """(pid, ppid, session id, command line) of every live process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] == "Z":
            continue
        found.append((int(entry.name), int(fields[1]), int(fields[3]), cmdline))
    return found


def session_members(sid: int) -> list[int]:
    return [pid for pid, _ppid, session, _cmd in processes() if session == sid]


def _output(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/fd/1")
    except OSError:
        return ""


def cell_interpreters(root: Path) -> list[int]:
    """Pids of running ``python -m runner.core.cell`` children measuring into ``root``: their
    output goes to a cell's files there (one started ahead and still waiting writes nowhere)."""
    return [
        pid
        for pid, _p, _s, cmd in processes()
        if "runner.core.cell" in cmd and _output(pid).startswith(str(root.resolve()))
    ]


def children(pid: int) -> list[int]:
    return [p for p, ppid, _s, _c in processes() if ppid == pid]


def records(root: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((root / "cells").glob("*.json"))]


def interrupt(proc: subprocess.Popen[str]) -> None:
    """Ctrl-C at a terminal: SIGINT to the foreground process group."""
    os.killpg(proc.pid, signal.SIGINT)
