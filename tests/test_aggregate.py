"""Aggregation reads cell files from disk: failed cells still report, speedup has its baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runner.results.aggregate import aggregate, median_with_ci
from runner.results.cell_store import CellStore
from runner.sweep import spec as specs
from runner.sweep.reuse import Job
from runner.sweep.reuse import measure_or_reuse as measure
from tests.conftest import cell_spec

# its sweep's sleeps must overlap on time: nothing else runs beside it
pytestmark = pytest.mark.alone


@pytest.fixture(scope="module")
def sweep_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sweep directory with a serial baseline, two thread cells and one that timed out."""
    root = tmp_path_factory.mktemp("sweep")
    store = CellStore(root)
    sleep = {"name": "sleep", "tasks": 8, "params": {"seconds": 0.01}, "fail_rate": 0.0}
    for job, workers in enumerate((1, 4)):
        thread = cell_spec(workload=sleep, executor={"name": "thread", "options": {}}, workers=workers, repeats=3)
        measure(store, specs.baseline(thread), 0, Job(root, str(job), "", "s"))
        measure(store, thread, 0, Job(root, str(job), "", "s"))
    hang = cell_spec(
        workload={**sleep, "params": {"seconds": 5.0}},
        executor={"name": "thread", "options": {}},
        workers=2,
        timeout_s=1.0,
    )
    measure(store, hang, 0, Job(root, "2", "", "s"))
    aggregate(root)
    return root


def test_results_has_one_row_per_counted_repetition(sweep_root: Path) -> None:
    results = pd.read_csv(sweep_root / "results.csv")
    ok = results[results["status"] == "ok"]
    assert len(ok) == 3 * 3  # baseline + two thread cells, three counted repetitions each
    assert set(ok.groupby("cell")["rep"].apply(lambda r: tuple(sorted(r)))) == {(0, 1, 2)}
    for column in (
        "sweep",
        "cell",
        "workload",
        "executor",
        "start_method",
        "workers",
        "python",
        "gil",
        "tasks",
        "rep",
        "wall_s",
        "startup_s",
        "cpu_s",
        "parallelism",
        "speedup",
        "efficiency",
        "throughput",
        "peak_rss_mb",
        "errors",
        "status",
        "message",
        "workload.seconds",
    ):
        assert column in results.columns, column


def test_a_failed_cell_is_a_row_with_its_status_and_the_rest_still_aggregates(sweep_root: Path) -> None:
    results = pd.read_csv(sweep_root / "results.csv")
    failed = results[results["status"] != "ok"]
    assert list(failed["status"]) == ["timeout"]
    assert "timeout_s" in failed["message"].iloc[0]
    summary = pd.read_csv(sweep_root / "summary.csv")
    assert len(summary) == 4
    assert summary.set_index("status").loc["timeout", "n"] == 0


def test_speedup_is_against_the_clean_median_of_the_serial_baseline(sweep_root: Path) -> None:
    results = pd.read_csv(sweep_root / "results.csv")
    ok = results[results["status"] == "ok"]
    serial = ok[ok["executor"] == "serial"]
    # sleeping work needs no probe: the reference is the baseline's wall time less its wait for a CPU
    clean = (serial["wall_s"] - serial["runqueue_s"]).clip(lower=serial["cpu_s"], upper=serial["wall_s"])
    assert len(serial["cell"].unique()) == 1
    assert (ok["baseline"] == serial["cell"].iloc[0]).all()
    assert ok["probe_s"].isna().all()
    assert ok["speedup"].to_numpy() == pytest.approx(clean.median() / ok["wall_s"].to_numpy())
    assert ok["efficiency"].to_numpy() == pytest.approx(ok["speedup"].to_numpy() / ok["workers"].to_numpy())
    four = ok[(ok["executor"] == "thread") & (ok["workers"] == 4)]
    assert four["speedup"].median() > 2  # eight 10 ms sleeps on four threads overlap


def test_tasks_has_one_row_per_task(sweep_root: Path) -> None:
    tasks = pd.read_csv(sweep_root / "tasks.csv")
    assert len(tasks) == 3 * 3 * 8
    assert set(tasks.columns) >= {"cell", "rep", "task", "worker", "start_s", "end_s", "cpu_s", "ok"}
    assert (tasks["end_s"] >= tasks["start_s"]).all()


def test_summary_has_medians_and_confidence_intervals(sweep_root: Path) -> None:
    summary = pd.read_csv(sweep_root / "summary.csv").query("status == 'ok'")
    for measure_ in ("wall_s", "speedup", "parallelism"):
        low, mid, high = (summary[f"{measure_}_{s}"] for s in ("ci_low", "median", "ci_high"))
        assert ((low <= mid + 1e-12) & (mid <= high + 1e-12)).all()
    assert set(summary["n"]) == {3}
    assert "noisy" in summary and "cv" in summary


def test_reaggregating_is_idempotent(sweep_root: Path) -> None:
    before = (sweep_root / "results.csv").read_text()
    aggregate(sweep_root)
    assert (sweep_root / "results.csv").read_text() == before


@pytest.mark.parametrize(
    ("wall", "load", "cores", "expected"),
    [
        ([1.0, 1.01, 0.99, 1.0], 0.5, 2, []),
        ([1.0, 1.5, 0.7, 1.2], 0.5, 2, ["cv"]),
        ([1.0, 1.0, 1.0], 3.5, 2, ["load 3.5 > 2 cores"]),
        ([2.0, 1.0, 1.0, 1.0], 0.5, 2, ["cv", "first repetition 2.0x the rest"]),
        ([1.0, 1.0], float("nan"), 2, []),
    ],
)
def test_noise_flags_say_why(wall: list[float], load: float, cores: int, expected: list[str]) -> None:
    import numpy as np

    from runner.results.noise import texts as noise

    reasons = noise(np.array(wall), load, cores)
    assert len(reasons) == len(expected)
    for reason, start in zip(reasons, expected, strict=True):
        assert reason.startswith(start)


def test_without_cell_files_aggregation_keeps_the_csvs(sweep_root: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(sweep_root, copy, ignore=shutil.ignore_patterns("cells"))
    before = {name: (copy / name).read_bytes() for name in ("results.csv", "tasks.csv", "summary.csv")}
    table = aggregate(copy)
    assert len(table) == 4
    assert {name: (copy / name).read_bytes() for name in before} == before


def test_the_median_with_ci_is_scipys_percentile_bootstrap() -> None:
    """numpy alone gives scipy.stats.bootstrap's interval, so leaving scipy out of the sweep changed no number."""
    from scipy import stats

    rng = np.random.default_rng(7)
    for n in (2, 3, 5, 9, 30):
        for _ in range(10):
            values = rng.lognormal(0.0, 0.3, n)
            median, low, high = median_with_ci(values)
            theirs = stats.bootstrap(
                (values,), np.median, confidence_level=0.95, n_resamples=999, method="percentile", random_state=0
            ).confidence_interval
            assert median == np.median(values)
            assert (low, high) == pytest.approx((theirs.low, theirs.high), rel=1e-12)
    assert median_with_ci(np.array([2.0, 2.0, np.nan])) == (2.0, 2.0, 2.0)
