"""Paired baselines: what a cell's speedup is divided by, so that a busy or drifting
machine does not move it.

A speedup divides the serial baseline's time by the cell's. Measured minutes apart on a
shared machine, the two disagree for reasons of the machine's, not the cell's:

- *Preemption.* Other programs take the CPU from the serial run for a while, so its wall
  time grows and every speedup measured against it grows with it: a process pool shows
  2.3x on 2 CPUs. Linux counts, per thread, the time a thread was runnable but waiting
  for a CPU (``/proc/<pid>/task/<tid>/schedstat``, runner/probes.py). The baseline's
  *clean* time is its wall time less that wait: a serial run that had its CPU.
- *Speed drift.* The same work takes another amount of CPU time from one minute to the
  next (frequency, a neighbour's cache, steal that a hypervisor bills as run time). So
  every repetition of a cell first runs the workload's first ``m`` tasks serially in the
  cell's own interpreter (the *probe*, runner/cell.py), right before its pool. The
  serial baseline ran the same first ``m`` tasks at the start of each repetition; the
  CPU time of the probe over theirs is the machine's speed now against then (``drift``).

Then, with C the baseline's task CPU time and W its clean time less C (what the work
spends waiting by design, which drift leaves alone):

    reference = C x drift + W;   speedup of a repetition = reference / its wall time

Work that barely computes (C under 5% of the clean time: sleep, IO) needs no probe.
Standard library only: the sweep (choosing ``m``) and the aggregation use it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

# The probe runs at most this share of a cell's tasks: it is overhead, not measurement.
MOST_OF_TASKS = 0.25
# Below this share of CPU in the clean serial time, drift cannot move the reference.
COMPUTES_LITTLE = 0.05


def prefix_cpu(tasks: Sequence[Sequence[Any]], m: int) -> float | None:
    """The CPU time of a repetition's first ``m`` tasks (records as in a cell's result)."""
    first = [t[5] for t in tasks if t[0] < m]
    return float(sum(first)) if len(first) == m and m >= 1 else None


def task_cpu(rep: dict[str, Any]) -> float:
    return float(sum(t[5] for t in rep["tasks"]))


def clean(rep: dict[str, Any]) -> float:
    """A serial repetition's wall time less the time it waited for a CPU while runnable.

    Never below its tasks' CPU time: the wait is summed over every thread of the process,
    and a thread other than the one running tasks may have waited at the same time.
    """
    wall = float(rep["wall_s"])
    waited = rep.get("runqueue_s")
    if waited is None:
        return wall
    return min(wall, max(wall - float(waited), task_cpu(rep)))


def reference(baseline_reps: Sequence[dict[str, Any]]) -> tuple[float, float]:
    """(C, W): the baseline's median task CPU and its median clean time beyond that."""
    cpu = float(statistics.median(task_cpu(r) for r in baseline_reps))
    return cpu, max(float(statistics.median(clean(r) for r in baseline_reps)) - cpu, 0.0)


def probe_tasks(baseline: dict[str, Any], pair_s: float) -> int:
    """How many first tasks the probe runs: the fewest whose CPU time in the baseline's
    repetitions (median) reaches ``pair_s``, at most a quarter of the tasks; 0 (no probe)
    without a measured baseline, with ``pair_s=0``, or for work that barely computes."""
    reps = [r for r in baseline["result"].get("reps", []) if not r["warmup"]]
    tasks = baseline["spec"]["workload"]["tasks"]
    if pair_s <= 0 or not reps or baseline["result"]["status"] != "ok" or tasks < 2:
        return 0
    cpu, waited = reference(reps)
    if cpu <= COMPUTES_LITTLE * (cpu + waited):
        return 0
    most = max(1, int(tasks * MOST_OF_TASKS))
    for m in range(1, most + 1):
        times = [prefix_cpu(r["tasks"], m) for r in reps]
        known = [t for t in times if t is not None]
        if len(known) < len(times):
            return 0
        if statistics.median(known) >= pair_s:
            return m
    return most


def drift(probe: dict[str, Any] | None, baseline_reps: Sequence[dict[str, Any]]) -> float | None:
    """The CPU time of the probe over that of the same tasks in the baseline (median): above
    1, the machine runs this work slower now than when the baseline was measured."""
    if not probe or not probe.get("cpu_s"):
        return None
    then = [prefix_cpu(r["tasks"], probe["tasks"]) for r in baseline_reps]
    known = [t for t in then if t]
    return float(probe["cpu_s"]) / statistics.median(known) if known else None


def speedups(reps: Sequence[dict[str, Any]], baseline_reps: Sequence[dict[str, Any]]) -> list[float | None]:
    """The speedup of each repetition against the baseline's counted repetitions."""
    if not baseline_reps:
        return [None for _ in reps]
    cpu, waited = reference(baseline_reps)
    # the cell's drift is the median of its probes: the machine's speed flickers faster than
    # one probe and one repetition apart (a sibling hyperthread busy or not), so a single
    # probe would add noise; minutes apart, between baseline and cell, it drifts for real
    drifts = [d for d in (drift(r.get("probe"), baseline_reps) for r in reps) if d is not None]
    now = statistics.median(drifts) if drifts else 1.0
    return [(cpu * now + waited) / rep["wall_s"] for rep in reps]
