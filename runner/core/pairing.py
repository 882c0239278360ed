"""The serial reference a speedup divides: interleaved with the cells, so that a busy or
drifting machine does not move it.

A speedup divides the serial time of a workload by a cell's. Measured once, minutes away
from the cells, on a shared machine, the serial time is off for reasons of the machine's:

- *Preemption.* Other programs take the CPU from the serial run for a while, so its wall
  time grows and every speedup divided by it grows too (a process pool shows 2.3x on 2
  CPUs). Linux counts, per thread, the time it was runnable but waited for a CPU
  (``/proc/<pid>/task/<tid>/schedstat``, runner/core/probes.py); the baseline's *clean* time
  is its wall time less that wait.
- *Speed.* The same task takes another amount of CPU time from one second to the next. On
  a cloud VM whose virtual CPUs are hyper-threads of a host core shared with other
  tenants, it flips between two speeds (11 and 20 ms per task of the default `cpu`
  workload, here, in stretches of a fraction of a second to seconds). The baseline's few
  seconds catch one mix of the two; a cell a minute later, another.

So the serial reference is sampled all along the sweep: before each repetition of each
cell, the cell's interpreter runs a *probe*, ``m`` of the workload's tasks serially (a
stride sample of the task indices, so tasks that differ by index are represented), and
records their CPU time. The reference per task is the median, over every probe of that
workload in the sweep, of CPU time per probed task (the baseline's own repetitions add
the same sample of their tasks): the machine's typical speed over the sweep, measured
interleaved with the cells it divides. Then, with W the baseline's clean time beyond its
task CPU (what the work waits by design, which the machine's speed leaves alone):

    reference = tasks x CPU per task (median over the sweep's probes) + W
    speedup of a repetition = reference / its wall time

A probe right before each repetition, used for that repetition alone, measured a speed
that had changed again by the time the pool ran, and moved speedups more than no probe at
all (benchmarks/aa.py; docs/architecture.md has the figures).

A probe measures the task thread's CPU time, so it is taken only where that is the work's
cost, measured as the baseline measured it. Work that barely computes (task CPU under 5%
of the clean serial time: sleep, IO), work whose native pools burn CPU outside the task
thread, and a cell whose native pools are sized otherwise than the baseline's get none
(``measurable``): such a cell divides by the median of its workload's other probes, and
where there are none (every cell of native work), by the baseline's clean time. Standard
library only: the sweep chooses the probe, the aggregation divides by it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from runner.core import native
from runner.core.task import stored

# The probe runs at most this share of a cell's tasks: it is overhead, not measurement.
MOST_OF_TASKS = 0.25
# Below this share of CPU in the clean serial time, the machine's speed cannot move the reference.
COMPUTES_LITTLE = 0.05
# Above this share of the serial run's CPU burnt outside its task thread (native pools), the
# task thread's CPU time is not the work's cost, and a probe cannot measure it.
OUTSIDE = 0.10
# A serial task on a CPU at least this share of its time is work that only computes: a cell of it
# can speed up at most min(tasks in flight, CPUs), with this much left for the reference's noise.
COMPUTES = 0.8
CAPACITY_SLACK = 0.10


def sample(tasks: int, m: int) -> list[int]:
    """``m`` task indices spread evenly over ``range(tasks)``: the probe's tasks."""
    return sorted({k * tasks // m for k in range(m)}) if m else []


def sample_cpu(tasks: Sequence[Sequence[Any]], indices: Sequence[int]) -> float | None:
    """The CPU time of the tasks ``indices`` in a repetition (records as in a cell's result)."""
    wanted = set(indices)
    found = [t.cpu_s for t in map(stored, tasks) if t.task in wanted]
    return float(sum(found)) if wanted and len(found) == len(wanted) else None


def task_cpu(rep: dict[str, Any]) -> float:
    return float(sum(stored(t).cpu_s for t in rep["tasks"]))


def task_cpu_share(tasks: Sequence[Sequence[Any]]) -> float | None:
    """How much of its time a repetition's median task spent on a CPU: near 1 for work that only computes."""
    shares = [t.cpu_s / (t.end_s - t.start_s) for t in map(stored, tasks) if t.end_s > t.start_s]
    return float(statistics.median(shares)) if shares else None


def capacity(busy: float | None, outside: float | None, in_flight: int, cores: int) -> float | None:
    """The most speedup a cell can show, min(tasks in flight, CPUs), where its serial baseline's median
    task is ``busy`` on a CPU at least COMPUTES of its time and at most OUTSIDE of the serial run's CPU
    is outside its task thread (``outside``: medians over its repetitions); None where no such bound
    holds (waiting work, native pools that keep CPUs busy without work to show for it)."""
    if busy is None or busy < COMPUTES or (outside is not None and outside > OUTSIDE):
        return None
    return float(min(in_flight, cores))


def busy_cpu(rep: dict[str, Any]) -> float:
    """The CPU a repetition kept busy: every thread of every process that ran its tasks, where
    recorded (records from before have their tasks' CPU only). Over the wall time, its parallelism."""
    process_cpu = rep.get("process_cpu_s")
    return float(process_cpu) if process_cpu is not None else task_cpu(rep)


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


def outside_share(reps: Sequence[dict[str, Any]]) -> float:
    """The median share of a repetition's CPU burnt outside its task threads (native pools,
    spinning); 0 for records from before the process's CPU was read."""
    shares = [1 - task_cpu(r) / r["process_cpu_s"] for r in reps if r.get("process_cpu_s")]
    return max(float(statistics.median(shares)), 0.0) if shares else 0.0


def measurable(cell_limit: int | None, baseline_limit: int | None, baseline_reps: Sequence[dict[str, Any]]) -> bool:
    """Whether a probe in a cell measures what the baseline's tasks cost: only where the cell's
    native pools (``native_limit``, None for the libraries' default) are the baseline's size,
    and the baseline burns at most ``OUTSIDE`` of its CPU outside its task thread.

    A probe runs in the cell's interpreter, whose BLAS or OpenMP pools have the cell's size
    (``native_threads=auto`` gives a serial run every CPU, a worker of two in flight half),
    and reads its task thread's CPU time, which is the work's cost only where no pool helps:
    with auto on 2 CPUs, a matrix product took 18 ms of its thread's CPU in a thread cell of 2
    workers and about 10 ms in the serial run, whose helper thread did the rest, and a
    reference built from the first read every speedup 1.4 times too high (docs/architecture.md).
    """
    return cell_limit == baseline_limit and outside_share(baseline_reps) <= OUTSIDE


def probe_tasks(baseline: dict[str, Any], cell_spec: dict[str, Any]) -> list[int]:
    """The task indices the probe runs: the fewest, spread over the tasks, whose CPU time in
    the baseline's repetitions (median) reaches the cell's ``pair_s``, at most a quarter of
    the tasks; none without a measured baseline, with ``pair_s=0``, for work that barely
    computes, for work whose native pools burn CPU outside the task thread (the serial matrix
    product with two BLAS threads: its thread's CPU varies with how the helper was scheduled,
    not with the machine's speed), or where the cell's native pools differ from the
    baseline's."""
    reps = [r for r in baseline["result"].get("reps", []) if not r["warmup"]]
    tasks = baseline["spec"]["workload"]["tasks"]
    pair_s = cell_spec["pair_s"]
    if pair_s <= 0 or not reps or baseline["result"]["status"] != "ok" or tasks < 2:
        return []
    if not measurable(native.for_cell(cell_spec), native.for_cell(baseline["spec"]), reps):
        return []
    cpu, waited = reference(reps)
    if cpu <= COMPUTES_LITTLE * (cpu + waited):
        return []
    most = max(1, int(tasks * MOST_OF_TASKS))
    per_task = cpu / tasks
    m = min(most, max(1, -(-pair_s // per_task) if per_task > 0 else most))
    return sample(tasks, int(m))


def per_task(probe: dict[str, Any] | None) -> float | None:
    """A probe's CPU time per probed task."""
    if not probe or not probe.get("cpu_s") or not probe.get("tasks"):
        return None
    return float(probe["cpu_s"]) / len(probe["tasks"])


def baseline_samples(baseline_reps: Sequence[dict[str, Any]], indices: Sequence[int]) -> list[float]:
    """The baseline's own repetitions as probes: CPU per task of the same sampled tasks."""
    found = [sample_cpu(r["tasks"], indices) for r in baseline_reps]
    return [f / len(indices) for f in found if f]


def speedups(
    reps: Sequence[dict[str, Any]], baseline_reps: Sequence[dict[str, Any]], pool: Sequence[float] = ()
) -> list[float | None]:
    """The speedup of each repetition: the reference over its wall time.

    ``pool``: CPU per probed task of every probe of this workload in the sweep (and of the
    baseline's own sample); empty (serial cells of work that barely computes, ``pair_s=0``,
    records from before the probe), the baseline's clean time is the reference.
    """
    if not baseline_reps:
        return [None for _ in reps]
    cpu, waited = reference(baseline_reps)
    tasks = len(baseline_reps[0]["tasks"])
    serial = tasks * statistics.median(pool) + waited if pool else cpu + waited
    return [serial / rep["wall_s"] for rep in reps]


def drift(probe: dict[str, Any] | None, pool: Sequence[float]) -> float | None:
    """A probe's CPU per task over the sweep's median: above 1, the machine ran this work
    slower than usual for the sweep when the repetition started."""
    own = per_task(probe)
    return own / statistics.median(pool) if own is not None and pool else None


def probes_of(
    record: dict[str, Any], baseline: dict[str, Any] | None, base_reps: Sequence[dict[str, Any]]
) -> tuple[list[float], list[int] | None]:
    """A cell record's probes as a pool takes them: the CPU per probed task of each, and the tasks
    they probed; none where a probe cannot measure the baseline's work (sweeps from before the rule
    probed every cell)."""
    limits = (native_limit(record), native_limit(baseline)) if baseline is not None else (None, None)
    if not measurable(*limits, base_reps):
        return [], None
    reps = record["result"]["reps"]
    found = [(value, rep["probe"]["tasks"]) for rep in reps if (value := per_task(rep.get("probe"))) is not None]
    return [value for value, _ in found], found[-1][1] if found else None


def probe_pools(records: list[dict[str, Any]], base_reps: dict[str, list[dict[str, Any]]]) -> dict[str, list[float]]:
    """Per baseline, the CPU per probed task of every probe of its workload in the sweep,
    and of the same tasks in the baseline's own repetitions."""
    pools: dict[str, list[float]] = {}
    indices: dict[str, list[int]] = {}
    by_cell = {record["cell"]: record for record in records}
    for record in records:
        base = record["baseline"]
        found, probed = probes_of(record, by_cell.get(base), base_reps.get(base, []))
        if found and probed is not None:
            pools.setdefault(base, []).extend(found)
            indices[base] = probed
    for base, tasks in indices.items():
        pools[base] += baseline_samples(base_reps.get(base, []), tasks)
    return pools


def native_limit(record: dict[str, Any]) -> int | None:
    """The native pool size a cell ran with: as recorded where it was (``auto`` resolved on the
    machine that measured), else as its spec resolves here."""
    result = record["result"]
    return result["native_limit"] if "native_limit" in result else native.for_cell(record["spec"])
