"""The report's first lines: each rule that writes them, on summaries built to test it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from runner.claims.verdicts import Verdict
from runner.report import headline


def cell(workload: str, executor: str, workers: int, speedup: float, busy: float, **extra: Any) -> dict[str, Any]:
    return {
        "cell": f"{workload}-{executor}-{workers}-{extra.get('workload.kib', '')}",
        "workload": workload,
        "executor": executor,
        "start_method": extra.pop("start_method", "fork" if executor == "process" else ""),
        "workers": workers,
        "tasks": extra.pop("tasks", 8),
        "status": extra.pop("status", "ok"),
        "speedup_median": speedup,
        "speedup_ci_low": speedup * 0.95,
        "speedup_ci_high": speedup * 1.05,
        "parallelism_median": busy,
        "impossible": extra.pop("impossible", False),
        "noisy": extra.pop("noisy", False),
        **extra,
    }


def summary(*cells: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([cell("cpu", "serial", 1, 1.0, 1.0), *cells])


GIL = [cell("cpu", "thread", w, s, b) for w, s, b in ((1, 1.0, 1.0), (2, 0.97, 1.02), (4, 0.95, 1.03))]
PROCESSES = [cell("cpu", "process", w, s, b) for w, s, b in ((1, 0.98, 1.0), (2, 1.9, 1.95), (4, 1.93, 1.97))]


def test_the_fastest_cell_is_named_with_its_interval_and_the_gil_in_words() -> None:
    first = headline.lines(summary(*GIL, *PROCESSES), 2, [])[0]
    assert first.startswith("**cpu**: fastest **process (fork) with 4 workers: 1.93x**")
    assert "(95% CI 1.83-2.03)" in first
    assert "threads did not run in parallel: at most 1.03 CPUs busy" in first and "GIL" in first


def test_scaling_flattens_where_more_workers_gain_less_than_ten_percent() -> None:
    assert (
        "gained nothing beyond 2 workers, the machine's 2 CPUs (4 measured): its CPUs were busy (1.97 of 2)"
        in headline.lines(summary(*PROCESSES), 2, [])[0]
    )
    few = [cell("sleep", "thread", w, 0.99 * min(w, 4), 0.01, tasks=4) for w in (1, 2, 4, 8, 16)]
    assert (
        "gained nothing beyond 4 workers (16 measured; the machine has 2 CPUs): only 4 tasks to run at once"
        in headline.lines(summary(*few), 2, [])[1]
    )
    rising = [cell("cpu", "process", w, 0.98 * w, w) for w in (1, 2, 4, 8)]
    assert "still gained at 8 workers, the most measured" in headline.lines(summary(*rising), 8, [])[0]


def test_an_impossible_or_failed_cell_is_never_quoted() -> None:
    wrong = cell("cpu", "process", 8, 40.0, 2.0, impossible=True)
    failed = cell("cpu", "process", 16, 50.0, 2.0, status="timeout")
    first = headline.lines(summary(*PROCESSES, wrong, failed), 2, [])
    assert "40.00x" not in first[0] and "50.00x" not in first[0] and "1.93x" in first[0]
    assert first[-1] == "read with care: 1 failed, 1 impossible of 6 cells (see Warnings)."


def test_nothing_faster_than_serial_is_said_so() -> None:
    first = headline.lines(summary(*GIL), 2, [])[0]
    assert first.startswith(
        "**cpu**: nothing ran 10% faster than the serial baseline: the best, thread with 1 worker, ran at 1.00x"
    )
    assert "gained" not in first  # no curve to flatten


def test_threads_that_wait_overlap_and_threads_that_compute_run_in_parallel() -> None:
    sleep = [cell("sleep", "thread", w, 0.99 * w, 0.01 * w) for w in (1, 2, 4)]
    said = headline.lines(summary(*sleep), 2, [])[1]
    assert said.startswith("**sleep**: fastest **thread with 4 workers: 3.96x**")
    assert "threads overlapped waiting: 3.96x with 4 workers while at most 0.04 CPUs were busy" in said
    # 256 HTTP calls in flight: the waits overlap, and the client's Python keeps one CPU busy
    http = [cell("http", "thread", w, min(w, 24.0), min(0.02 * w, 0.98)) for w in (1, 8, 64, 256)]
    said = headline.lines(summary(*http), 2, [])[1]
    assert "threads overlapped waiting: 24.00x with 256 workers (within 10% of that from 64 workers on)" in said
    assert "while at most 0.98 CPUs were busy, one at a time as under the GIL" in said
    # a curve that falls past its best says where it stopped paying up to the best, nothing beyond
    falling = [cell("http", "thread", w, s, 0.9) for w, s in ((1, 1.0), (8, 21.0), (64, 22.0), (256, 5.0))]
    said = headline.lines(summary(*falling), 2, [])[1]
    assert "threads overlapped waiting: 22.00x with 64 workers (within 10% of that from 8 workers on)" in said
    # and a best reached by a climb says no knee and claims no limit
    climbing = [cell("http", "thread", w, s, 0.9) for w, s in ((1, 1.0), (8, 7.0), (64, 30.0))]
    said = headline.lines(summary(*climbing), 2, [])[1]
    assert "threads overlapped waiting: 30.00x with 64 workers while" in said
    assert "which limits" not in said
    assert "did not run in parallel" not in said
    hashing = [cell("hash", "thread", w, 0.95 * min(w, 2), 0.97 * min(w, 2)) for w in (1, 2, 4)]
    assert "threads ran in parallel: up to 1.94 of 2 CPUs busy at once" in headline.lines(summary(*hashing), 2, [])[1]


def test_cells_that_differ_in_a_parameter_get_a_line_each() -> None:
    small = [cell("io", "thread", w, 1.5 * w, 0.2, **{"workload.kib": 64}) for w in (1, 2)]
    large = [cell("io", "thread", w, 1.1 * w, 0.9, **{"workload.kib": 8192}) for w in (1, 2)]
    said = headline.lines(summary(*small, *large), 2, [])
    assert [line.split(":")[0] for line in said[:3]] == ["**cpu**", "**io (kib=64)**", "**io (kib=8192)**"]


def test_the_verdicts_are_counted_and_the_failing_claims_named() -> None:
    found = [
        Verdict(0, "threads do not speed up CPU work", "", "", "holds", 1, ""),
        Verdict(0, "processes do", "", "", "holds", 1, ""),
        Verdict(0, "sleep overlaps", "", "", "fails", 1, ""),
    ]
    assert headline.lines(summary(*PROCESSES), 2, found)[-1] == "verdicts: 2 hold, 1 fails: sleep overlaps."
    assert headline.lines(summary(*PROCESSES), 2, [])[-1].startswith("verdicts: no claims declared")


def test_threads_that_neither_computed_nor_gained_are_not_blamed_on_the_gil() -> None:
    io = [cell("io", "thread", w, 1.0, 0.1) for w in (1, 2, 4)]
    said = headline.lines(summary(*io), 2, [])[1]
    assert "threads gained nothing (best 1.00x) and the work mostly waited: at most 0.10 CPUs busy" in said
    assert "GIL" not in said


def test_threads_in_between_ran_partly_in_parallel() -> None:
    mixed = [cell("mix", "thread", w, 1.2, b) for w, b in ((1, 1.0), (2, 1.35))]
    assert (
        "threads ran partly in parallel: up to 1.35 of 2 CPUs busy at once" in headline.lines(summary(*mixed), 2, [])[1]
    )


def test_a_sweep_of_the_serial_baseline_alone_says_so() -> None:
    said = headline.lines(summary(), 2, [])
    assert said[0] == "**cpu**: nothing measured beyond the serial baseline."
    assert len(said) == 2 and said[1].startswith("verdicts: ")
    wrong = [cell("cpu", "thread", w, 2.4 * w, 1.9, impossible=True) for w in (2, 4)]
    said = headline.lines(summary(*wrong), 2, [])
    assert said[0] == "**cpu**: no speedup to quote: 2 of 2 cells' speedups are impossible (see Warnings)."


def test_a_fastest_cell_at_its_limit_is_quoted_as_at_the_limit() -> None:
    edge = cell("cpu", "process", 4, 2.14, 1.98, above_limit=True, speedup_limit=2.0)
    first = headline.lines(summary(*PROCESSES, edge), 2, [])[0]
    quoted = "fastest **process (fork) with 4 workers: 2.14x** the serial speed (95% CI 2.03-2.25), at the limit of 2 "
    assert quoted in first
    assert "at the limit" not in headline.lines(summary(*PROCESSES), 2, [])[0]


def test_failed_cells_are_named_not_read_as_a_measured_baseline() -> None:
    def failed(executor: str, workers: int, status: str) -> dict[str, Any]:
        return cell("cpu", executor, workers, np.nan, np.nan, status=status)

    every = pd.DataFrame([failed("serial", 1, "oom"), failed("thread", 2, "oom"), failed("process", 2, "nproc")])
    said = headline.lines(every, 2, [])[0]
    assert said == "**cpu**: nothing measured: every cell failed (oom 2, nproc 1; see Warnings)."
    baseline = pd.DataFrame([failed("serial", 1, "timeout"), cell("cpu", "thread", 2, np.nan, 1.0)])
    said = headline.lines(baseline, 2, [])[0]
    assert said == "**cpu**: no speedup to quote: the serial baseline failed (timeout 1; see Warnings)."
    pools = summary(failed("thread", 2, "error"), failed("thread", 4, "error"))
    assert headline.lines(pools, 2, [])[0] == "**cpu**: no pool measured: every one failed (error 2; see Warnings)."


def test_values_left_unset_against_set_ones_tell_cells_apart() -> None:
    from runner.results.labels import label, with_panels

    convoy = summary(
        cell("cpu", "thread", 2, 1.0, 1.0, switch_interval=np.nan),
        cell("cpu", "thread", 2, 0.8, 1.0, switch_interval=0.0001),
    )
    names = [label(row) for _, row in with_panels(convoy).sort_index().iterrows()]
    assert names[1:] == ["cpu (switch_interval=default)/thread/2", "cpu (switch_interval=0.0001)/thread/2"]


def test_oversubscription_is_named_as_the_cause_with_its_arithmetic_and_its_cure() -> None:
    arithmetic = "2 in flight x 2 native threads = 4 > 2 CPUs"
    blas = {"oversubscribed": True, "oversubscription": arithmetic}
    matmul = [
        cell("matmul", "serial", 1, 1.0, 1.97, native_threads=np.nan),
        cell("matmul", "serial", 1, 1.0, 1.0, native_threads=1),
        cell("matmul", "process", 2, 0.12, 0.95, native_threads=np.nan, **blas),
        cell("matmul", "process", 2, 1.07, 1.9, native_threads=1, oversubscribed=False, oversubscription=""),
        cell("matmul", "thread", 2, 1.86, 1.9, native_threads=1, oversubscribed=False, oversubscription=""),
    ]
    said = headline.lines(pd.DataFrame(matmul), 2, [])
    assert (
        "**matmul (native_threads=default)**: process (fork) with 2 workers oversubscribed the CPUs, "
        f"{arithmetic}, and ran at 0.12x; with native_threads=1, 1.07x." in said
    )
    # a curve that flattens where its cells oversubscribe says so
    flat = [
        cell("matmul", "process", w, s, 1.9, native_threads=np.nan, **(blas if w > 1 else {}))
        for w, s in ((1, 1.6), (2, 1.65), (4, 1.62))
    ]
    first = headline.lines(pd.DataFrame([cell("matmul", "serial", 1, 1.0, 1.9, native_threads=np.nan), *flat]), 2, [])
    said = f"gained nothing beyond 1 worker (4 measured; the machine has 2 CPUs): oversubscribed ({arithmetic})"
    assert said in first[0]
