"""Each workload does what it says, and its own figures tell the truth."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

from runner.core.cell import measure
from runner.core.task import fails
from runner.sweep.launch import run_cell
from tests.conftest import TINY_WORKLOADS, workload_spec


def run(name: str, executor: str = "serial", workers: int = 1, **changes: Any) -> list[dict[str, Any]]:
    """Measure a tiny cell; its counted repetitions, after checking it went well."""
    start_method = changes.pop("start_method", "fork")
    spec = workload_spec(
        name, executor={"name": executor, "options": {}}, workers=workers, start_method=start_method, **changes
    )
    result = measure(spec)
    assert result["status"] == "ok", result["message"]
    return [rep for rep in result["reps"] if not rep["warmup"]]


def parallelism(rep: dict[str, Any]) -> float:
    return float(sum(t[5] for t in rep["tasks"]) / rep["wall_s"])


@pytest.mark.alone
def test_counter_loses_updates_without_a_lock_and_none_with_one() -> None:
    # ~40 thread switches, each losing updates with odds of about 1 in 3: losing none is not a risk
    (rep,) = run("counter", "thread", workers=4, tasks=8, repeats=1, params={"increments": 200_000, "lock": "none"})
    assert rep["metrics"]["expected_count"] == 8 * 200_000
    assert rep["metrics"]["lost_updates"] > 0
    assert rep["metrics"]["observed_count"] == rep["metrics"]["expected_count"] - rep["metrics"]["lost_updates"]
    for lock in ("lock", "rlock"):
        (rep,) = run("counter", "thread", workers=4, tasks=8, repeats=1, params={"increments": 20_000, "lock": lock})
        assert rep["metrics"]["lost_updates"] == 0
        assert rep["metrics"]["observed_count"] == 8 * 20_000


@pytest.mark.parametrize("executor", ["process", "mp_pool", "process_per_task"])
def test_processes_do_not_share_the_counter(executor: str) -> None:
    for rep in run("counter", executor, workers=2, params={"increments": 1000, "lock": "lock"}):
        assert rep["metrics"]["expected_count"] == 4000
        assert rep["metrics"]["observed_count"] == 0


def test_a_semaphore_of_n_never_lets_more_than_n_in() -> None:
    for rep in run("bounded", "thread", workers=8, tasks=24, params={"permits": 3, "seconds": 0.03}):
        assert rep["metrics"]["peak_inside"] == 3  # reached, never passed
    for rep in run("bounded", "process", workers=2, params={"permits": 3, "seconds": 0.01}):
        assert rep["metrics"]["peak_inside"] == 1  # each worker process has a semaphore of its own


@pytest.mark.parametrize("mode", ["local", "shared"])
def test_each_thread_keeps_its_own_tally(mode: str) -> None:
    updates = 5000
    for rep in run("threadlocal", "thread", workers=3, tasks=9, params={"mode": mode, "updates": updates}):
        assert 1 <= rep["metrics"]["thread_states"] <= 3


def test_thread_local_tallies_never_mix(monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread's tally grows by exactly its own updates, task after task, in both modes."""
    from concurrent.futures import ThreadPoolExecutor

    from workloads import threadlocal

    for mode in ("local", "shared"):
        threadlocal.setup()
        with ThreadPoolExecutor(3) as pool:
            values = list(pool.map(lambda i, m=mode: threadlocal.run(i, mode=m, updates=3000), range(12)))
        by_thread: dict[int, list[int]] = {}
        for _pid, tid, tally in values:
            by_thread.setdefault(tid, []).append(tally)
        for tallies in by_thread.values():
            assert sorted(tallies) == [3000 * k for k in range(1, len(tallies) + 1)], mode
        assert threadlocal.summarize(values) == {"thread_states": len(by_thread)}


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_payload_travels_both_ways(executor: str) -> None:
    for rep in run("payload", executor, workers=2, tasks=6, params={"kib": 512}):
        assert rep["metrics"]["payload_bytes"] == 6 * 2 * 512 * 1024
        assert all(t[6] for t in rep["tasks"])


@pytest.mark.parametrize("channel", ["queue", "pipe"])
def test_ipc_moves_every_message(channel: str) -> None:
    params = {"channel": channel, "kib": 16, "messages": 20}
    for rep in run("ipc", "thread", workers=2, tasks=3, params=params):
        assert rep["metrics"]["bytes_moved"] == 3 * 20 * 16 * 1024
        assert rep["metrics"]["channel_mb_s"] > 0


def test_nested_pools_multiply_threads_without_deadlock() -> None:
    params = {"inner_workers": 3, "inner_tasks": 6, "seconds": 0.02}
    # in a cell only the main thread is there before; in pytest, earlier tests may have left some
    already = threading.active_count()
    for rep in run("nested", "thread", workers=2, params=params):
        # two pool threads, and at least one task's three inner threads at once
        assert already + 2 + 3 <= rep["metrics"]["peak_threads"] <= already + 2 + 2 * 3


def test_io_writes_reads_back_and_cleans_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from workloads import io

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert io.run(0, kib=8, files=3, fsync=True) == 2 * 8 * 1024 * 3
    assert list(tmp_path.iterdir()) == []


@pytest.mark.alone
def test_mixed_spans_sleep_to_cpu() -> None:
    def cpu_share(fraction: float) -> float:
        (rep,) = run("mixed", tasks=4, repeats=1, params={"cpu_fraction": fraction, "n": 100_000, "seconds": 0.02})
        return sum(t[5] for t in rep["tasks"]) / sum(t[4] - t[3] for t in rep["tasks"])

    assert cpu_share(0.0) < 0.2
    # the best of three: on a busy machine a computing task waits for a CPU too (0.48 once, load 5)
    assert max(cpu_share(1.0) for _ in range(3)) > 0.5
    (rep,) = run("mixed", repeats=1, params={"cpu_fraction": 2.0, "n": 10, "seconds": 0.0})
    assert all("cpu_fraction" in t[7] for t in rep["tasks"])


@pytest.mark.parametrize("algorithm", ["sha256", "zlib"])
def test_gil_release_processes_the_whole_buffer(algorithm: str) -> None:
    from workloads import gil_release

    assert gil_release.run(0, kib=256, rounds=3, algorithm=algorithm) == 3 * 256 * 1024


@pytest.mark.alone
def test_threads_run_gil_releasing_code_in_parallel_and_python_code_not() -> None:
    """The GIL, on two cores: C code that lets it go runs in parallel, a Python loop does not."""
    sha = {"kib": 8192, "rounds": 2}
    held = max(map(parallelism, run("cpu", "thread", workers=2, tasks=16, params={"n": 300_000})))
    assert held <= 1.2
    # each time against what two workers got from this machine right after (another program may be
    # using a core, for a moment or throughout); up to three pairs, so a moment's contention on one
    # side of a pair is not taken for the GIL
    pairs = []
    for _ in range(3):
        released = max(map(parallelism, run("gil_release", "thread", workers=2, tasks=16, params=sha)))
        available = max(map(parallelism, run("gil_release", "process", workers=2, tasks=16, params=sha)))
        pairs.append((released, available))
        if released >= min(1.3, 0.8 * available):
            break
    else:
        pytest.fail(f"threads running C code that releases the GIL were not parallel: {pairs}")


@pytest.mark.parametrize("name", list(TINY_WORKLOADS))
def test_every_workload_counts_fail_rate_failures_and_goes_on(name: str) -> None:
    (rep,) = run(name, tasks=12, repeats=1, fail_rate=0.3, seed=7)
    injected = {i for i in range(12) if fails(i, 7, 0.3)}
    failed = {t[0] for t in rep["tasks"] if not t[6]}
    assert injected and failed == injected | ({1} if name == "fault" else set())


@pytest.mark.parametrize("executor", ["process", "mp_pool", "process_per_task"])
def test_a_task_that_exits_breaks_a_process_pool_quickly(executor: str) -> None:
    spec = workload_spec("fault", tasks=6, params={"mode": "exit", "at": 2, "seconds": 0.01})
    result = measure({**spec, "executor": {"name": executor, "options": {}}, "workers": 2, "start_method": "fork"})
    assert result["status"] == "error"
    assert "Broken" in result["message"]


@pytest.mark.parametrize(
    ("mode", "status", "message"), [("exit", "error", "exited with code 70"), ("hang", "timeout", "")]
)
def test_a_task_that_exits_or_hangs_ends_its_cell(tmp_path: Path, mode: str, status: str, message: str) -> None:
    spec = workload_spec(
        "fault", params={"mode": mode, "at": 1, "seconds": 0.01}, executor={"name": "thread", "options": {}}
    )
    result = run_cell({**spec, "workers": 2, "timeout_s": 1.5}, tmp_path)
    assert result["status"] == status
    assert message in result["message"]


def test_the_readme_lists_every_workload_and_executor() -> None:
    from runner.paths import CONF_DIR, PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text()
    for group in ("workload", "executor"):
        for path in (CONF_DIR / group).glob("*.yaml"):
            assert f"| `{path.stem}` |" in readme, f"{group} {path.stem}"
