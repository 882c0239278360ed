"""Numbers that survive a noisy machine: paired references, impossible values, noise causes,
precision on demand, and a comparison that does not cry wolf.

The statistics are checked on synthetic samples with known noise (seeded, so the test cannot
flake); the false-positive rate over many real sweeps is a benchmark (benchmarks/aa.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runner import compare
from runner.core import native, pairing, probes
from runner.core.cell import measure, median_ci
from runner.paths import PROJECT_ROOT
from runner.results import aggregate
from runner.results.environment import collect
from runner.sweep import interleave
from tests.conftest import cell_spec, workload_spec

TASK_CPU = 0.01  # seconds of CPU per synthetic task
CPU20 = {"name": "cpu", "tasks": 20, "params": {}, "fail_rate": 0.0}


def serial_rep(tasks: int = 20, slow: float = 1.0, waited: float = 0.0) -> dict[str, object]:
    """A serial repetition's record: tasks of TASK_CPU x ``slow`` CPU each, back to back,
    plus ``waited`` seconds spent runnable without a CPU (other programs ran)."""
    cpu = TASK_CPU * slow
    records = [[i, 1, 1, i * cpu, (i + 1) * cpu, cpu, True, ""] for i in range(tasks)]
    return {"wall_s": tasks * cpu + waited, "runqueue_s": waited, "tasks": records, "warmup": False}


def cell_rep(wall: float, probe_tasks: int = 0, slow: float = 1.0) -> dict[str, object]:
    cpu = probe_tasks * TASK_CPU * slow
    probe = {"tasks": list(range(probe_tasks)), "wall_s": cpu, "cpu_s": cpu}
    return {"wall_s": wall, "probe": probe if probe_tasks else None, "tasks": [], "warmup": False}


def test_a_preempted_baseline_does_not_inflate_speedups() -> None:
    quiet = [serial_rep() for _ in range(3)]
    preempted = [serial_rep(waited=0.1) for _ in range(3)]  # half again as long, all of it waiting for a CPU
    cell = [cell_rep(0.1)]
    assert pairing.speedups(cell, preempted) == pytest.approx(pairing.speedups(cell, quiet))
    assert pairing.speedups(cell, quiet) == pytest.approx([2.0])


def test_the_reference_is_the_machines_usual_speed_over_the_sweep_not_the_baselines_moment() -> None:
    fast_moment = [serial_rep(slow=0.55) for _ in range(3)]  # the baseline caught a fast stretch
    usual = [TASK_CPU] * 9 + [TASK_CPU * 0.55] * 2  # per-task CPU of the sweep's probes
    cell = [cell_rep(0.1, probe_tasks=5)]
    assert pairing.speedups(cell, fast_moment, usual) == pytest.approx([2.0])  # 20 tasks x 10 ms / 0.1 s
    assert pairing.speedups(cell, fast_moment) == pytest.approx([1.1])  # what that baseline alone would say
    assert pairing.drift(cell[0]["probe"], usual) == pytest.approx(1.0)


def probe_spec(pair_s: float, workers: int = 2, native_threads: object = None) -> dict[str, object]:
    return {"pair_s": pair_s, "workers": workers, "native_threads": native_threads, "workload": {"tasks": 20}}


def test_the_probe_samples_tasks_across_the_indices_and_none_for_waiting_work() -> None:
    base_spec = probe_spec(0.0, workers=1)
    computing = {"result": {"status": "ok", "reps": [serial_rep()] * 3}, "spec": base_spec}
    assert pairing.probe_tasks(computing, probe_spec(0.05)) == [0, 4, 8, 12, 16]  # 5 tasks of 10 ms, spread out
    assert pairing.probe_tasks(computing, probe_spec(10.0)) == [0, 4, 8, 12, 16]  # at most a quarter of the tasks
    assert pairing.probe_tasks(computing, probe_spec(0.0)) == []
    waiting = serial_rep()
    waiting["tasks"] = [[i, 1, 1, i * 0.01, (i + 1) * 0.01, 0.00001, True, ""] for i in range(20)]
    sleeping = {"result": {"status": "ok", "reps": [waiting] * 3}, "spec": base_spec}
    assert pairing.probe_tasks(sleeping, probe_spec(0.05)) == []
    assert pairing.baseline_samples([serial_rep()], [0, 4]) == pytest.approx([TASK_CPU])


def test_a_cell_whose_native_pools_differ_from_the_baselines_is_not_probed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "usable_cpus", lambda: 2)
    baseline = {"result": {"status": "ok", "reps": [serial_rep()] * 3}, "spec": probe_spec(0.0, 1, "auto")}
    # auto: the serial run's pool has both CPUs, a worker of two in flight has one
    assert pairing.probe_tasks(baseline, probe_spec(0.05, 2, "auto")) == []
    assert pairing.probe_tasks(baseline, probe_spec(0.05, 1, "auto")) == [0, 4, 8, 12, 16]
    fixed = {**baseline, "spec": probe_spec(0.0, 1, 1)}
    assert pairing.probe_tasks(fixed, probe_spec(0.05, 4, 1)) == [0, 4, 8, 12, 16]
    # a sweep recorded before the rule: its probes under other pool sizes stay out of the reference
    cells = {"b": (1, None), "one": (1, cell_rep(1.0, 5)), "two": (2, cell_rep(1.0, 5, slow=1.8))}
    records = [
        {"cell": c, "baseline": "b", "spec": probe_spec(0.05, w, "auto"), "result": {"reps": [rep or cell_rep(1.0)]}}
        for c, (w, rep) in cells.items()
    ]
    assert pairing.probe_pools(records, {"b": []}) == {"b": [pytest.approx(TASK_CPU)]}
    # as the cells recorded it: auto resolved on the machine that measured, not here
    records[2]["result"]["native_limit"] = records[0]["result"]["native_limit"] = 2
    assert sorted(pairing.probe_pools(records, {"b": []})["b"]) == [pytest.approx(TASK_CPU), pytest.approx(0.018)]


def test_work_whose_serial_run_burns_cpu_outside_its_task_thread_is_not_probed() -> None:
    # two BLAS threads: the process burnt twice the task thread's CPU
    native_reps = [{**serial_rep(), "process_cpu_s": 2 * 20 * TASK_CPU} for _ in range(3)]
    baseline = {"result": {"status": "ok", "reps": native_reps}, "spec": probe_spec(0.0, 1)}
    assert pairing.outside_share(native_reps) == pytest.approx(0.5)
    assert pairing.probe_tasks(baseline, probe_spec(0.05, 2)) == []
    plain = {**baseline, "result": {"status": "ok", "reps": [serial_rep()] * 3}}  # records without the column
    assert pairing.probe_tasks(plain, probe_spec(0.05, 2)) == [0, 4, 8, 12, 16]
    # and a sweep recorded before the rule keeps its probes out of the reference
    records = [
        {"cell": "b", "baseline": "b", "spec": probe_spec(0.0, 1), "result": {"reps": native_reps}},
        {"cell": "c", "baseline": "b", "spec": probe_spec(0.05, 2), "result": {"reps": [cell_rep(1.0, 5, 1.8)]}},
    ]
    assert pairing.probe_pools(records, {"b": native_reps}) == {}


def test_each_row_says_the_cpu_per_task_its_reference_assumed() -> None:
    def record(cell: str, executor: str, reps: list[dict[str, object]]) -> dict[str, object]:
        spec = cell_spec(executor={"name": executor, "options": {}}, workload={**CPU20, "params": {"n": 1}})
        extra = {"rep": 1, "startup_s": 0.0, "peak_rss_mb": None, "warmup": False}
        result = {"status": "ok", "message": "", "reps": [{**r, **extra} for r in reps]}
        return {"cell": cell, "baseline": "b", "round": 0, "spec": spec, "result": result}

    serial = record("b", "serial", [serial_rep()])
    probed = record("c", "thread", [{**cell_rep(0.1, 5, slow=1.2), "tasks": serial_rep()["tasks"]}])
    results, _ = aggregate.frames([serial, probed], "test")
    # the probes' median (one probe at 12 ms a task, the baseline's own sample at 10 ms)
    assert results["reference_task_cpu_s"].tolist() == [pytest.approx(0.011)] * 2
    results, _ = aggregate.frames([serial], "test")  # no probe: the baseline's own CPU per task
    assert results["reference_task_cpu_s"].tolist() == [pytest.approx(TASK_CPU)]


def results_for(speedup: float, workers: int, executor: str = "process", busy: float = 1.0) -> pd.DataFrame:
    """results.csv rows of a baseline and one cell with the given median speedup."""
    rows = []
    for _ in range(3):
        base = {"cell": "b", "baseline": "b", "executor": "serial", "workers": 1, "speedup": 1.0, "wall_s": 1.0}
        rows.append({**base, "cpu_s": busy, "parallelism": busy, "task_cpu_share": busy})
        wall = 1.0 / speedup
        parallelism = min(workers, 2) * busy
        rows.append(
            {
                "cell": "c",
                "baseline": "b",
                "executor": executor,
                "workers": workers,
                "speedup": speedup,
                "wall_s": wall,
                "cpu_s": parallelism * wall,
                "parallelism": parallelism,
                "task_cpu_share": busy,
            }
        )
    common = {"workload": "cpu", "start_method": "", "tasks": 64, "status": "ok", "errors": 0, "round": 0}
    return pd.DataFrame(rows).assign(**common, rep=[r for r in range(3) for _ in (0, 1)])


@pytest.mark.parametrize(
    ("speedup", "workers", "busy", "flagged"),
    [
        (2.31, 8, 1.0, True),  # the "process fork 8: 2.31x" on 2 CPUs
        (1.19, 1, 1.0, True),  # one worker cannot beat the serial run by a fifth
        (1.9, 2, 1.0, False),
        (1.05, 1, 1.0, False),  # within timer noise
        (7.8, 8, 0.001, False),  # sleeping work needs no CPU to overlap
    ],
)
def test_speedups_the_cells_accounting_rules_out_are_flagged_with_their_cause(
    speedup: float, workers: int, busy: float, flagged: bool
) -> None:
    table = aggregate.summary(results_for(speedup, workers, busy=busy), cores=2).set_index("cell")
    assert bool(table.loc["c", "impossible"]) is flagged
    if flagged:
        why = table.loc["c", "impossible_why"]
        assert f"speedup {speedup:.2f} >" in why and "2 CPUs" in why
    assert not table.loc["b", "impossible"]


@pytest.mark.parametrize(
    ("speedup", "workers", "busy", "at_limit"),
    [
        (2.08, 4, 1.0, True),  # within the slack (a CI that lies above 2.1 is impossible: next case)
        (2.14, 4, 1.0, False),
        (1.05, 1, 1.0, True),
        (2.31, 8, 1.0, False),  # past the slack: impossible instead
        (1.9, 2, 1.0, False),
        (7.8, 8, 0.001, False),  # sleeping work has no such limit
    ],
)
def test_a_speedup_past_its_limit_by_less_than_the_slack_is_marked_at_the_limit(
    speedup: float, workers: int, busy: float, at_limit: bool
) -> None:
    table = aggregate.summary(results_for(speedup, workers, busy=busy), cores=2).set_index("cell")
    row = table.loc["c"]
    assert bool(row["above_limit"]) is at_limit and not (row["above_limit"] and row["impossible"])
    assert row["speedup_limit"] == (min(workers, 2) if busy == 1.0 else pytest.approx(np.nan, nan_ok=True))
    if at_limit:
        assert aggregate.at_limit(row).startswith(f"speedup {speedup:.2f} is above {min(workers, 2)}, the most that")


def test_the_serial_baseline_is_never_at_its_limit() -> None:
    rows = results_for(1.9, 2)
    rows.loc[rows["cell"] == "b", "speedup"] = 1.04  # its own time over the sweep's probes: 1 give or take
    assert not aggregate.summary(rows, cores=2).set_index("cell").loc["b", "above_limit"]


def test_what_other_programs_took_is_a_share_of_at_most_the_cpus_and_only_where_ticks_resolve_it() -> None:
    # /proc/stat's busy time is in ticks (1/100 s here): a tick per CPU over a 1 ms repetition
    # read as 176% of the CPUs; a tick over 0.5 s is within 2%
    ticks = probes.TICKS_PER_S
    frame = pd.DataFrame({"wall_s": [1.0 / ticks, 0.5, 0.5], "others_cpu_s": [2.0 / ticks, 0.4, 1.02]})
    share = aggregate.others_share(frame, cores=2)
    # at least: less a tick per CPU, 1/(ticks x wall) of the share
    assert np.isnan(share[0]) and share[1] == pytest.approx(0.4 - 2 / ticks) and share[2] == 1.0


def test_a_cell_whose_tasks_ran_cheaper_is_flagged_with_that_cause() -> None:
    # a thread pool's matrix products took 0.84x the serial loop's CPU each (glibc's main
    # arena faults its memory back in, a worker thread's arena keeps it): not concurrency
    table = aggregate.summary(results_for(1.19, 1), cores=2).set_index("cell")
    assert "took 0.84x the CPU time per task the serial reference assumes" in table.loc["c", "impossible_why"]


def test_a_serial_run_whose_native_pools_keep_cpus_busy_bounds_no_cell_by_capacity() -> None:
    # serial matmul with two BLAS threads keeps 2 CPUs busy, much of it spinning; one worker
    # with one BLAS thread does the same products 1.4x as fast: real, not impossible
    rows = results_for(1.4, 1)
    base = rows["cell"] == "b"
    rows.loc[base, "parallelism"] = 2.0
    rows["outside_cpu_share"] = np.where(base, 0.5, 0.0)
    assert not aggregate.summary(rows, cores=2).set_index("cell").loc["c", "impossible"]
    # the same speedup where the serial run's CPU is all its task thread's: one worker cannot
    rows.loc[base, "parallelism"] = 1.0
    rows["outside_cpu_share"] = 0.0
    assert aggregate.summary(rows, cores=2).set_index("cell").loc["c", "impossible"]


def test_a_steady_neighbour_makes_a_cell_noisy_though_its_repetitions_agree() -> None:
    # a competing program took half the machine throughout: every repetition alike, cv near 0
    rows = results_for(1.07, 2)
    cell = rows["cell"] == "c"
    rows.loc[cell, "others_cpu_s"] = rows.loc[cell, "wall_s"] * 2 * 0.48
    rows["load_1m"] = 0.5
    table = aggregate.summary(rows, cores=2).set_index("cell")
    assert table.loc["c", "noisy"] and table.loc["c", "noise"] == "others took 47% of the CPUs"  # at least
    assert "other programs used up to 47% of the CPUs" in table.loc["c", "noise_cause"]
    assert not table.loc["b", "noisy"]


def test_a_noisy_cell_names_what_the_probes_saw() -> None:
    rows = results_for(1.9, 2)
    cell = rows["cell"] == "c"
    rows.loc[cell, "wall_s"] = [0.5, 0.8, 0.5]  # cv well above 10%
    rows.loc[cell, "steal"] = [0.0, 0.09, 0.0]
    rows.loc[cell, "drift"] = [1.0, 1.3, 1.0]
    rows.loc[cell, "runqueue_s"] = [0.0, 0.4, 0.0]
    rows.loc[cell, "involuntary_switches"] = [50, 900, 60]
    rows["load_1m"] = 0.5
    table = aggregate.summary(rows, cores=2).set_index("cell")
    cause = table.loc["c", "noise_cause"]
    assert table.loc["c", "noisy"] and "cv" in table.loc["c", "noise"]
    assert (
        "steal up to 9%" in cause and "speed changed" in cause and "waited for a CPU" in cause and "preempted" in cause
    )
    assert table.loc["b", "noise_cause"] == ""  # a quiet cell has no cause to name


def test_the_median_ci_covers_95_percent_from_six_values() -> None:
    assert median_ci([1.0] * 5) is None
    assert median_ci([3.0, 1.0, 2.0, 6.0, 5.0, 4.0]) == (1.0, 6.0)
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(2000):
        low, high = median_ci(list(rng.normal(0, 1, 12))) or (np.nan, np.nan)
        covered += low <= 0 <= high
    assert covered / 2000 >= 0.95


def test_precision_adds_repetitions_until_reached_or_says_why_not() -> None:
    base = workload_spec("cpu", tasks=4, params={"n": 20000}, executor={"name": "thread", "options": {}}, workers=2)
    easy = measure({**base, "repeats": 2, "probe_tasks": [0], "precision": 0.9, "budget_s": 60.0, "max_repeats": 30})
    assert easy["precision"]["met"] and easy["precision"]["stop"] == "reached"
    assert sum(not r["warmup"] for r in easy["reps"]) >= 6  # the fewest with a 95% CI of the median
    hard = measure({**base, "repeats": 2, "probe_tasks": [0], "precision": 1e-9, "budget_s": 60.0, "max_repeats": 7})
    assert not hard["precision"]["met"] and hard["precision"]["stop"] == "max_repeats=7 reached"
    assert sum(not r["warmup"] for r in hard["reps"]) == 7


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_every_repetition_records_its_probe_and_what_the_machine_did(executor: str) -> None:
    # long enough for the kernel's CPU counters (jiffies) to advance during the task phase
    workload = {"name": "cpu", "tasks": 4, "params": {"n": 150000}, "fail_rate": 0.0}
    spec = cell_spec(
        workload=workload,
        executor={"name": executor, "options": {}},
        workers=2,
        start_method="fork",
        probe_tasks=[0, 2],
    )
    result = measure(spec)
    assert result["status"] == "ok", result.get("traceback")
    for rep in result["reps"]:
        assert rep["probe"]["tasks"] == [0, 2] and rep["probe"]["cpu_s"] > 0
        assert rep["runqueue_s"] >= 0 and rep["involuntary_switches"] >= 0 and 0 <= rep["steal"] <= 1
        assert rep["load_1m"] is not None
    serial = measure(cell_spec(probe_tasks=[0, 2]))
    assert all(rep["probe"] is None for rep in serial["reps"])  # its own first tasks are its probe


def test_environment_records_the_cpu_topology() -> None:
    env = collect()
    assert env["logical_cpus"] >= 1 and env["physical_cores"] >= 1
    assert env["threads_per_core"] == round(env["logical_cpus"] / env["physical_cores"])
    assert "smt_active" in env and "cpu_scaling_driver" in env


def sides(rng: np.random.Generator, change: float, noise: float, n: int = 3) -> tuple[np.ndarray, np.ndarray]:
    return rng.lognormal(0, noise, n), change * rng.lognormal(0, noise, n)


def verdicts(rng: np.random.Generator, cells: int, change: float, noise: float) -> list[str]:
    """compare's rule over ``cells`` pairs of samples, the p-values adjusted together as compare does."""
    pairs = [sides(rng, change, noise) for _ in range(cells)]
    adjusted = compare.adjust([compare.p_value(a, b) for a, b in pairs])
    found = []
    for (a, b), p in zip(pairs, adjusted, strict=True):
        low, high = compare.ratio_ci(a, b)
        found.append(compare.verdict(a, b, low, high, compare.MIN_EFFECT, p=p)[0])
    return found


def test_identical_cells_with_known_noise_are_rarely_called_changed() -> None:
    found = verdicts(np.random.default_rng(7), cells=200, change=1.0, noise=0.03)
    assert sum(v in (compare.FASTER, compare.SLOWER) for v in found) / len(found) <= 0.05


def test_a_real_30_percent_change_is_found_in_most_cells() -> None:
    found = verdicts(np.random.default_rng(8), cells=200, change=1.3, noise=0.03)
    assert sum(v == compare.SLOWER for v in found) / len(found) >= 0.75


@pytest.mark.parametrize(
    ("b", "expected"),
    [
        (np.array([1.00, 1.01, 0.99]), compare.SAME),
        (np.array([1.03, 1.04, 1.02]), compare.SAME),  # real but below the 5% minimum effect
        (np.array([1.20, 1.21, 1.19]), compare.SLOWER),
        (np.array([0.83, 0.84, 0.82]), compare.FASTER),
        (np.array([1.0, 1.3, 0.8]), compare.INCONCLUSIVE),  # could be 20% either way: the data cannot decide
        (np.array([1.2]), compare.TOO_FEW),
    ],
)
def test_the_verdict_set_includes_inconclusive(b: np.ndarray, expected: str) -> None:
    a = np.array([1.00, 1.01, 0.99])
    low, high = compare.ratio_ci(a, b)
    p = compare.p_value(a, b) if len(b) > 1 else 1.0
    assert compare.verdict(a, b, low, high, compare.MIN_EFFECT, p=p)[0] == expected


def test_many_cells_share_one_false_discovery_rate() -> None:
    p = [0.001, 0.025, 0.035, 0.045, 0.5]
    adjusted = compare.adjust(p)
    assert adjusted[0] < 0.05 and all(q >= 0.05 for q in adjusted[1:4])  # each alone would pass at 5%
    assert compare.adjust([float("nan"), 0.01]) == pytest.approx([float("nan"), 0.01], nan_ok=True)


@pytest.mark.slow
def test_ab_measures_a_and_b_interleaved_in_one_sweep_and_compares_them(tmp_path: Path) -> None:
    out = tmp_path / "ab"
    args = ["--ab", "workload.params.n=3000,6000", "workload=cpu", "executor=thread", "workers=1,2"]
    small = ["workload.tasks=4", "repeats=3", "warmup=0", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "runner.compare", *args, *small], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert "differs: workload.n 3000 (A) vs 6000 (B)" in proc.stdout
    plan = json.loads((out / "plan.json").read_text())
    sides = [next(o for o in job if o.startswith("workload.params.n=")) for job in plan["overrides"]]
    assert sides == ["workload.params.n=3000", "workload.params.n=6000"] * 2  # B right after A, cell by cell
    a, b = interleave.split(out, "workload.params.n=3000,6000")
    assert set(a.summary["workload.n"]) == {3000} and set(b.summary["workload.n"]) == {6000}
    table = pd.read_csv(out / "compare" / "compare.csv")
    assert len(table) == 3 and set(table["executor"]) == {"serial", "thread"}
    bad = subprocess.run(
        [sys.executable, "-m", "runner.compare", "--ab", "workers=2"], capture_output=True, text=True, env=env
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: --ab: ") and "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--ab", "workers=1,2"], "error: --ab: cells are matched on workers, so A and B would share no cell;"),
        (["--ab", "+executor.name=thread,process"], "error: --ab: cells are matched on executor,"),
        (["--ab", "python=3.11,3.12", "python=3.12"], "error: --ab: python is also given as python=3.12;"),
        (["--ab", "python=3.11,3.12", "dir_a", "dir_b"], "error: --ab: dir_a is not an override; allowed:"),
    ],
)
def test_ab_refuses_before_measuring_what_could_not_be_compared(tmp_path: Path, args: list[str], expected: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    out = tmp_path / "ab"
    proc = subprocess.run(
        [sys.executable, "-m", "runner.compare", *args, "--out", str(out)], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 2 and proc.stderr.startswith(expected) and len(proc.stderr.splitlines()) == 1
    assert not out.exists()
