"""Comparing two sweeps: matched cells, a ratio with its CI, and a verdict that noise does not fool."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.synthetic import make_sweep
from runner import compare
from runner.paths import PROJECT_ROOT
from runner.results.load import load
from tests.conftest import small_design

TIGHT_A = np.array([1.00, 1.01, 0.99])


@pytest.mark.parametrize(
    ("b", "expected"),
    [
        (TIGHT_A * 1.0, compare.SAME),
        (TIGHT_A * 1.03, compare.SAME),  # real but below the 5% minimum effect
        (TIGHT_A * 1.20, compare.SLOWER),
        (TIGHT_A / 1.20, compare.FASTER),
        (np.array([1.2]), compare.TOO_FEW),
    ],
)
def test_the_verdict_needs_significance_a_ci_that_excludes_one_and_an_effect(b: np.ndarray, expected: str) -> None:
    low, high = compare.ratio_ci(TIGHT_A, b)
    p = compare.p_value(TIGHT_A, b) if len(b) > 1 else 1.0
    assert compare.verdict(TIGHT_A, b, low, high, compare.MIN_EFFECT, p=p)[0] == expected


def test_a_change_within_the_cells_own_noise_is_not_called_a_change() -> None:
    noisy_a = np.array([0.9, 1.0, 1.1])  # cv 10%
    noisy_b = np.array([1.13, 1.18, 1.28])  # 18% slower and apart from A, yet within twice the noise
    low, high = compare.ratio_ci(noisy_a, noisy_b)
    label, threshold = compare.verdict(noisy_a, noisy_b, low, high, compare.MIN_EFFECT, p=0.0)
    noise = np.hypot(np.std(noisy_a, ddof=1) / np.mean(noisy_a), np.std(noisy_b, ddof=1) / np.mean(noisy_b))
    assert low > 1.0 and threshold == pytest.approx(2 * noise) and label == compare.INCONCLUSIVE


def test_the_ci_brackets_the_ratio_of_medians() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(1.0, 0.05, 5), rng.normal(1.3, 0.05, 5)
    low, high = compare.ratio_ci(a, b)
    assert low <= np.median(b) / np.median(a) <= high


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two synthetic sweeps of the same design with independent noise: the same code twice."""
    tmp = tmp_path_factory.mktemp("c")
    return make_sweep(tmp / "a", small_design(), seed=1), make_sweep(tmp / "b", small_design(), seed=2)


def test_the_same_sweep_twice_shows_no_significant_change(pair: tuple[Path, Path]) -> None:
    result = compare.compare(load(pair[0]), load(pair[1]))
    assert len(result.table) == len(load(pair[0]).summary) and result.only_a == result.only_b == 0
    assert not result.table["verdict"].isin([compare.FASTER, compare.SLOWER]).any(), result.table["verdict"]


def test_a_machine_twice_as_slow_changes_no_relative_verdict(pair: tuple[Path, Path], tmp_path: Path) -> None:
    slow = tmp_path / "slow"
    make_sweep(slow, small_design(), seed=2)
    results = pd.read_csv(slow / "results.csv")
    results["wall_s"] *= 2.0  # every cell and every baseline: speedups stay as they were
    results.to_csv(slow / "results.csv", index=False)
    relative = compare.compare(load(pair[0]), load(slow)).table
    serial = relative["executor"] == "serial"
    assert relative[serial]["verdict"].str.startswith("baseline: machine or workload slower").all()
    assert not relative[~serial]["verdict"].isin([compare.FASTER, compare.SLOWER]).any()
    raw = compare.compare(load(pair[0]), load(slow), measure="wall_s")
    assert (raw.table["verdict"] == compare.SLOWER).all()


def slower_threads(root: Path, others: float = 0.0, factor: float = 1.5) -> Path:
    """A second sweep whose thread cells are ``factor`` times slower, while other programs took
    ``others`` of the CPUs during them."""
    make_sweep(root, small_design(), seed=2)
    results = pd.read_csv(root / "results.csv")
    threads = results["executor"] == "thread"
    results.loc[threads, "wall_s"] *= factor
    results.loc[threads, "speedup"] /= factor
    if others:  # repetitions long enough for /proc/stat's ticks to resolve the share (aggregate.RESOLVED_TICKS)
        results["wall_s"] *= 10  # every cell alike: relative times do not move
    results["others_cpu_s"] = 0.0
    results.loc[threads, "others_cpu_s"] = results.loc[threads, "wall_s"] * load(root).cores * others
    results.to_csv(root / "results.csv", index=False)
    (root / "summary.csv").unlink()  # summarised again from results.csv
    return root


def test_slower_threads_are_found(pair: tuple[Path, Path], tmp_path: Path) -> None:
    changed = slower_threads(tmp_path / "changed")
    table = compare.compare(load(pair[0]), load(changed)).table
    assert (table[table["executor"] == "thread"]["verdict"] == compare.SLOWER).all()
    assert not table[table["executor"] == "process"]["verdict"].isin([compare.FASTER, compare.SLOWER]).any()


def test_cells_match_on_swept_values_and_constant_differences_are_named(tmp_path: Path) -> None:
    a = make_sweep(tmp_path / "a", small_design())
    b = make_sweep(tmp_path / "b", small_design(), seed=3)
    results = pd.read_csv(b / "results.csv").assign(python="3.13.0")
    results.to_csv(b / "results.csv", index=False)
    (b / "summary.csv").unlink()
    result = compare.compare(load(a), load(b))
    assert "python" not in result.keys and result.differs["python"] == ("3.12.3", "3.13.0")
    assert len(result.table) == len(load(a).summary)


def compare_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "runner.compare", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_the_command_prints_a_table_and_writes_compare_md(pair: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = compare_cli(str(pair[0]), str(pair[1]), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "B / A [95% CI]" in proc.stdout and "no significant change" in proc.stdout
    text = (out / "compare.md").read_text()
    assert "## How the verdict is reached" in text and "![ratio of medians](compare.png)" in text
    assert (out / "compare.png").stat().st_size > 1000 and (out / "compare.svg").exists()
    assert len(pd.read_csv(out / "compare.csv")) == len(load(pair[0]).summary)
    bad = compare_cli(str(pair[0]), str(tmp_path / "missing"))
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
    blocker = tmp_path / "a-file"
    blocker.write_text("kept")
    onto_file = compare_cli(str(pair[0]), str(pair[1]), "--out", str(blocker))
    assert onto_file.returncode == 1 and blocker.read_text() == "kept"
    assert onto_file.stderr.splitlines()[-1] == f"error: output: cannot write {blocker}: File exists"
    assert "Traceback" not in onto_file.stderr


def test_a_second_comparison_keeps_the_first(tmp_path: Path) -> None:
    """Compared with another A, B keeps its earlier comparison: the next goes into compare-2/ (a
    folder made for it, never a link's target); an --out that holds one is refused, its files as
    they were."""
    a, b = make_sweep(tmp_path / "a", small_design(), seed=1), make_sweep(tmp_path / "b", small_design(), seed=2)
    other = make_sweep(tmp_path / "other", small_design(), seed=3)
    assert compare_cli(str(a), str(b)).returncode == 0
    first = {p.name: p.read_bytes() for p in (b / "compare").iterdir()}
    second = compare_cli(str(other), str(b))
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[-1] == f"compare: {b / 'compare-2' / 'compare.md'}"
    assert {p.name: p.read_bytes() for p in (b / "compare").iterdir()} == first
    assert f"A: `{other}`" in (b / "compare-2" / "compare.md").read_text()
    outside = tmp_path / "outside"
    outside.mkdir()
    (b / "compare-3").symlink_to(outside)  # a received B's link under the next name: passed by
    third = compare_cli(str(a), str(b))
    assert third.returncode == 0 and third.stdout.splitlines()[-1] == f"compare: {b / 'compare-4' / 'compare.md'}"
    assert not any(outside.iterdir())
    onto = compare_cli(str(other), str(b), "--out", str(b / "compare"))
    assert (
        onto.returncode == 2
        and onto.stderr == f"error: --out: {b / 'compare'} holds a comparison already; allowed: a folder without one\n"
    )
    assert {p.name: p.read_bytes() for p in (b / "compare").iterdir()} == first


def test_a_change_where_other_programs_took_the_cpus_is_inconclusive(pair: tuple[Path, Path], tmp_path: Path) -> None:
    busy = slower_threads(tmp_path / "busy", others=0.4)
    comparison = compare.compare(load(pair[0]), load(busy))
    assert (comparison.table[comparison.table["executor"] == "thread"]["verdict"] == compare.INCONCLUSIVE).all()
    # 40% less the tick per CPU that /proc/stat may have counted too many: at least 35%
    assert compare.display(comparison)["verdict"].str.contains(r"took (3[5-9]|40)% of the CPUs").any()
    # nor is "no change" said where other programs took the CPUs: they may have hidden one
    unchanged = compare.compare(load(pair[0]), load(slower_threads(tmp_path / "busy-same", others=0.4, factor=1.0)))
    threads = unchanged.table[unchanged.table["executor"] == "thread"]
    assert (threads["verdict"] == compare.INCONCLUSIVE).all(), threads[["verdict", "busy"]]


def test_no_relative_verdict_rests_on_an_impossible_speedup(pair: tuple[Path, Path], tmp_path: Path) -> None:
    """A relative time is 1 / speedup: where the speedup is impossible, the cell is inconclusive and says
    why; its wall times are its own, so a comparison of those still judges it."""
    changed = load(slower_threads(tmp_path / "changed"))
    threads = changed.summary.index[changed.summary["executor"] == "thread"]
    changed.summary.loc[threads[0], "impossible"] = True
    cell = changed.summary.loc[threads[0], "cell"]
    relative = compare.compare(load(pair[0]), changed)
    row = relative.table[relative.table["cell_b"] == cell].iloc[0]
    assert row["verdict"] == compare.INCONCLUSIVE and row["impossible"] == "B"
    said = compare.display(relative)["verdict"]
    assert said.str.endswith("(the speedup is impossible in B: not a measurement)").sum() == 1
    others = relative.table[(relative.table["executor"] == "thread") & (relative.table["cell_b"] != cell)]
    assert (others["verdict"] == compare.SLOWER).all()
    raw = compare.compare(load(pair[0]), changed, measure="wall_s").table
    assert raw[raw["cell_b"] == cell].iloc[0]["verdict"] == compare.SLOWER


def test_what_decides_an_inconclusive_cell_depends_on_how_a_and_b_were_measured(pair: tuple[Path, Path]) -> None:
    """Two sweeps run apart: measure them interleaved. One interleaved run (--ab, A and B in one
    directory): more of it, not --ab again."""
    from runner.compare import output

    comparison = compare.compare(load(pair[0]), load(pair[1]))
    apart = output.markdown(comparison, pair[0], pair[1], None)
    assert "(`compare --ab`, for two configurations of one checkout) decide those" in apart
    together = output.markdown(comparison, pair[1], pair[1], None)
    assert "more passes over the grid (`rounds=3`)" in together and "compare --ab" not in together
