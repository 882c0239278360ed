"""What the machine did to a repetition while it ran: the noise probes.

Standard library only (measuring core). Each repetition records the CPU time the
hypervisor stole from the machine, the involuntary context switches of the processes
that ran its tasks (the scheduler took their CPU away to run something else) and the
load as it started; the paired serial probe (runner/cell.py) records the machine's
speed. The summary names these when a cell is noisy, so that a user learns *why*.
Linux exposes them in /proc; elsewhere they are None ("could not tell"), never 0.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path


def _proc_stat_cpu() -> tuple[int, int] | None:
    """(all jiffies, stolen jiffies) of the whole machine since boot, from /proc/stat."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return None
    ticks = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return sum(ticks), ticks[7]


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


def load_1m() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


@dataclass
class Snapshot:
    """Counters read at one moment; the difference of two is what happened between them."""

    cpu: tuple[int, int] | None
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
    ``runqueue_s``: seconds the threads spent runnable but waiting for a CPU (other
    programs, or more busy threads than CPUs), summed over threads. ``involuntary_switches``:
    how often the scheduler took a CPU away from them. A thread that started in between
    counts from its start; one that ended in between is missed, but for processes
    reaped in between, whose switches count through RUSAGE_CHILDREN.
    """
    steal = None
    if before.cpu is not None and after.cpu is not None and after.cpu[0] > before.cpu[0]:
        steal = (after.cpu[1] - before.cpu[1]) / (after.cpu[0] - before.cpu[0])
    if not after.threads:
        return {"steal": steal, "runqueue_s": None, "involuntary_switches": None}
    waited = switches = 0
    for pid, threads in after.threads.items():
        earlier = before.threads.get(pid, {})
        for tid, (w, s) in threads.items():
            w0, s0 = earlier.get(tid, (0, 0))
            waited += w - w0
            switches += s - s0
    switches += after.reaped - before.reaped
    return {"steal": steal, "runqueue_s": waited / 1e9, "involuntary_switches": switches}
