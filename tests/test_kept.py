"""A report keeps the figures and fits it computed before from the same tables by the same
code (runner/cache.py, runner/report/plots/kept.py), and redraws everything else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.paths import PROJECT_ROOT
from runner.report import sections as report

FIGURES = {"speedup", "concurrency_parallelism", "efficiency", "startup", "timeline", "latency"}


def written(root: Path) -> dict[str, tuple[int, bytes]]:
    """Each figure file's inode (a rewrite replaces the file) and bytes."""
    return {p.name: (p.stat().st_ino, p.read_bytes()) for p in sorted((root / "plots").iterdir())}


def redrawn(before: dict[str, tuple[int, bytes]], after: dict[str, tuple[int, bytes]]) -> set[str]:
    return {name.rsplit(".", 1)[0] for name in after if before.get(name, (None,))[0] != after[name][0]}


def test_the_same_tables_again_keep_every_figure_and_what_changed_is_redrawn(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONCURRENCY_LAB_CACHE", str(tmp_path / "cache"))
    first = report.render(synthetic)
    drawn = written(synthetic)
    md = (synthetic / "report.md").read_text()
    assert set(first.figures) == FIGURES

    again = report.render(synthetic)
    assert written(synthetic) == drawn and (synthetic / "report.md").read_text() == md
    assert again.figures == first.figures and again.fits.equals(first.fits)

    report.render(synthetic, timeline="executor == 'thread'")  # other cells on the timeline: only it changes
    assert redrawn(drawn, written(synthetic)) == {"timeline"}

    drawn = written(synthetic)
    (synthetic / "plots" / "latency.png").write_bytes(b"not the figure")  # a file that is not what was drawn
    speedup = synthetic / "plots" / "speedup.svg"
    copy = tmp_path / "speedup.svg"
    copy.write_bytes(speedup.read_bytes())
    speedup.unlink()
    speedup.symlink_to(copy)  # the very bytes, through a link: never kept
    report.render(synthetic, timeline="executor == 'thread'")
    now = written(synthetic)
    assert redrawn(drawn, now) == {"latency", "speedup"} and not speedup.is_symlink()
    assert now["latency.png"][1] == drawn["latency.png"][1] and now["speedup.svg"][1] == copy.read_bytes()


def test_figures_received_with_a_directory_are_drawn_again(synthetic: Path, tmp_path: Path) -> None:
    """Another user's cache, or none, vouches for nothing in plots/: each figure is drawn, whatever the
    directory holds."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "CONCURRENCY_LAB_CACHE": str(tmp_path / "theirs")}
    subprocess.run([sys.executable, "-m", "runner.report", str(synthetic)], env=env, check=True, capture_output=True)
    received = written(synthetic)
    env["CONCURRENCY_LAB_CACHE"] = str(tmp_path / "mine")
    subprocess.run([sys.executable, "-m", "runner.report", str(synthetic)], env=env, check=True, capture_output=True)
    assert redrawn(received, written(synthetic)) == FIGURES


def test_a_report_with_nothing_to_draw_imports_neither_matplotlib_nor_scipy(synthetic: Path, tmp_path: Path) -> None:
    """What costs a small report most (matplotlib's import, scipy's for the fits) is skipped where
    every figure and fit is kept; fits.csv and report.md are the same."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "CONCURRENCY_LAB_CACHE": str(tmp_path / "cache")}
    script = (
        "import json, sys; from pathlib import Path; from runner.report import sections; "
        "sections.render(Path(sys.argv[1])); "
        "print(json.dumps([m for m in ('matplotlib', 'scipy.optimize') if m in sys.modules]))"
    )
    runs = []
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-c", script, str(synthetic)], env=env, capture_output=True, text=True, check=True
        )
        runs.append(
            (json.loads(proc.stdout), (synthetic / "fits.csv").read_text(), (synthetic / "report.md").read_text())
        )
    assert "matplotlib" in runs[0][0] and runs[1][0] == []  # (scipy fits in a process of its own: test_fitting.py)
    assert runs[0][1:] == runs[1][1:]


def test_a_users_matplotlib_settings_change_no_figure_and_are_restored(synthetic: Path, tmp_path: Path) -> None:
    """The same tables draw the same files whatever the user's matplotlibrc says (what lets a
    record vouch for a kept figure), and a notebook keeps its own settings after a figure."""
    import matplotlib

    from runner.report.plots import startup
    from runner.results.load import load

    summary = load(synthetic).summary
    startup.draw(summary, tmp_path / "plain.png")
    with matplotlib.rc_context({"lines.linewidth": 10.0, "font.size": 30.0, "axes.facecolor": "black"}):
        startup.draw(summary, tmp_path / "theirs.png")
        assert matplotlib.rcParams["lines.linewidth"] == 10.0 and matplotlib.rcParams["font.size"] == 30.0
    for suffix in (".png", ".svg"):
        plain, theirs = (tmp_path / f"{n}{suffix}" for n in ("plain", "theirs"))
        assert plain.read_bytes().replace(b"plain", b"") == theirs.read_bytes().replace(b"theirs", b"")


def test_the_key_of_the_tables_tells_apart_what_a_row_hash_would_not(synthetic: Path) -> None:
    """A SHA-256 of each column's bytes: 0.0 and -0.0, None and "None", and two values swapped
    between columns are different tables (pandas' 64-bit row hash folds each of these together)."""
    from runner.report.plots import kept
    from runner.results.load import load

    sweep = load(synthetic)
    first = kept.tables(sweep)
    assert kept.tables(load(synthetic)) == first
    changed = []
    for change in (
        lambda s: s.summary.__setitem__("speedup_median", s.summary["speedup_median"] * 0.0),
        lambda s: s.summary.__setitem__("speedup_median", s.summary["speedup_median"] * -0.0),
        lambda s: s.summary.__setitem__("message", None),
        lambda s: s.summary.__setitem__("message", "None"),
    ):
        copy = load(synthetic)
        change(copy)
        changed.append(kept.tables(copy))
    assert len({first, *changed}) == 5


@pytest.fixture
def small_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cache in ``tmp_path``, trimmed past 6 entries of a kind to the 4 most recently used;
    returns its fits folder."""
    from runner import cache

    monkeypatch.setenv("CONCURRENCY_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "LIMIT", 6)
    monkeypatch.setattr(cache, "KEEP", 4)
    cache._trimmed.cache_clear()
    return tmp_path / "cache" / "fits"


def test_the_cache_keeps_the_most_recently_used_entries_of_a_kind(small_cache: Path) -> None:
    from runner import cache

    for i in range(8):  # written oldest first: trimmed only once a kind is past LIMIT
        cache.write("fits", f"e{i}", {"i": i})
        os.utime(small_cache / f"e{i}.json", (1000.0 + i, 1000.0 + i))
    cache.write("figures", "other", {"kind": "apart"})
    assert len(list(small_cache.iterdir())) == 8  # this process trimmed before its first write
    assert cache.read("fits", "e0") == {"i": 0}  # read: now the most recently used

    cache._trimmed.cache_clear()  # the next process's first write trims
    cache.write("fits", "new", {"i": 8})
    left = sorted(p.stem for p in small_cache.iterdir())
    assert left == ["e0", "e5", "e6", "e7", "new"], left  # the 4 most recently used, then the new one
    assert cache.read("figures", "other") == {"kind": "apart"}  # another kind is not trimmed by this one's size


def test_a_trim_removes_the_temporary_files_of_writes_killed_long_ago(small_cache: Path) -> None:
    """A process killed mid-write (the fits process, ended unread) leaves its temporary file; the
    next process's first write of the kind removes it once it is too old to be a write going on."""
    import time

    from runner import cache, files

    cache.write("fits", "e0", {"i": 0})
    old, recent = files.temporary(small_cache / "e1.json"), files.temporary(small_cache / "e2.json")
    for leftover in (old, recent):
        leftover.write_text('{"i": 1')
    os.utime(old, (time.time() - cache.STALE_S - 60,) * 2)
    cache.write("fits", "e3", {"i": 3})
    assert old.exists()  # this process trimmed before its first write: once a process
    cache._trimmed.cache_clear()
    cache.write("fits", "e4", {"i": 4})
    assert sorted(p.name for p in small_cache.iterdir()) == [recent.name, "e0.json", "e3.json", "e4.json"]


def test_a_trim_that_finds_entries_gone_meanwhile_removes_no_more_than_it_must(
    small_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import contextlib

    from runner import cache

    for i in range(7):
        cache.write("fits", f"e{i}", {"i": i})
    listed = os.scandir

    def another_process_trims_after_the_listing(path: Path) -> contextlib.nullcontext[list[os.DirEntry[str]]]:
        with listed(path) as found:
            entries = list(found)
        for gone in sorted(entries, key=lambda e: e.name)[:4]:
            os.unlink(gone.path)
        return contextlib.nullcontext(entries)

    monkeypatch.setattr(cache.os, "scandir", another_process_trims_after_the_listing)
    cache._trimmed.cache_clear()
    cache.write("fits", "new", {"i": 7})
    assert sorted(p.stem for p in small_cache.iterdir()) == ["e4", "e5", "e6", "new"]
