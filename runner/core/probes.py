"""What the machine did to a repetition while it ran: the noise probes.

Standard library only (measuring core). Each repetition records the CPU time the
hypervisor stole from the machine, the CPU time the whole machine was busy, the time the
cell's threads waited for a CPU while runnable and their involuntary context switches (the
scheduler took their CPU away to run something else), and the load as it started; the
serial probe (runner/core/cell.py) records the machine's speed. The summary names these when a
cell is noisy, so that a user learns *why*. Linux exposes them in /proc; elsewhere they are
None ("could not tell"), never 0.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# /proc/stat counts in clock ticks (USER_HZ)
TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def describe_python() -> dict[str, Any]:
    """The Python that runs this process: version, implementation, and the GIL, built and live."""
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil": bool(is_gil_enabled()) if is_gil_enabled is not None else True,
    }


def _proc_stat_cpu() -> tuple[int, int, int] | None:
    """(all, stolen, busy) jiffies of the whole machine since boot, from /proc/stat.

    Busy is what the machine's CPUs spent running anything (user, nice, system, irq,
    softirq): not idle, not waiting for IO, not stolen by the hypervisor.
    """
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return user + nice + system + idle + iowait + irq + softirq + steal, steal, user + nice + system + irq + softirq


def _threads(pid: int) -> dict[int, tuple[int, int]] | None:
    """Per live thread of ``pid``: (nanoseconds runnable but waiting for a CPU, involuntary switches)."""
    try:
        tids = [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
    except OSError:
        return None
    found = {}
    for tid in tids:
        base = f"/proc/{pid}/task/{tid}"
        try:
            waited = int(Path(f"{base}/schedstat").read_text().split()[1])
            status = Path(f"{base}/status").read_text()
        except (OSError, IndexError, ValueError):
            continue  # the thread ended between the listing and the read, or no schedstat here
        switches = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("nonvoluntary")), 0)
        found[tid] = (waited, switches)
    return found


def load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages; None where the platform has none."""
    try:
        return list(os.getloadavg())
    except OSError:
        return None


@dataclass
class Snapshot:
    """Counters read at one moment; the difference of two is what happened between them."""

    cpu: tuple[int, int, int] | None
    threads: dict[int, dict[int, tuple[int, int]]]  # pid -> tid -> (runqueue ns, involuntary switches)
    reaped: int  # involuntary switches of children already waited for (per-task processes)


def snapshot(pids: set[int]) -> Snapshot:
    threads = {}
    for pid in pids | {os.getpid()}:
        found = _threads(pid)
        if found is not None:
            threads[pid] = found
    return Snapshot(_proc_stat_cpu(), threads, resource.getrusage(resource.RUSAGE_CHILDREN).ru_nivcsw)


def between(before: Snapshot, after: Snapshot) -> dict[str, float | int | None]:
    """What happened to the machine and to the cell's threads between two snapshots.

    ``steal``: the share of the machine's CPU time a hypervisor gave to other guests.
    ``machine_busy_s``: CPU seconds the whole machine spent running anything, this cell
    included: less the cell's own CPU time, what other programs took (runner/results/aggregate.py).
    ``runqueue_s``: seconds the threads spent runnable but waiting for a CPU (other
    programs, or more busy threads than CPUs), summed over threads. ``involuntary_switches``:
    how often the scheduler took a CPU away from them. A thread that started in between
    counts from its start; one that ended in between is missed, but for processes
    reaped in between, whose switches count through RUSAGE_CHILDREN.
    """
    steal = busy = None
    if before.cpu is not None and after.cpu is not None and after.cpu[0] > before.cpu[0]:
        steal = (after.cpu[1] - before.cpu[1]) / (after.cpu[0] - before.cpu[0])
        busy = (after.cpu[2] - before.cpu[2]) / TICKS_PER_S
    machine = {"steal": steal, "machine_busy_s": busy}
    if not after.threads:
        return {**machine, "runqueue_s": None, "involuntary_switches": None}
    waited = switches = 0
    for pid, threads in after.threads.items():
        earlier = before.threads.get(pid, {})
        for tid, (w, s) in threads.items():
            w0, s0 = earlier.get(tid, (0, 0))
            waited += w - w0
            switches += s - s0
    switches += after.reaped - before.reaped
    return {**machine, "runqueue_s": waited / 1e9, "involuntary_switches": switches}
