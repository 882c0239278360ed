"""The speedup figure's fits come from a process forked before the report imports matplotlib
(runner/report/plots/fitting.py): the same fits, and the report's answer however that process ends."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from runner.report import sections as report
from runner.report.plots import fitting
from runner.report.plots.figure import Canvas
from runner.results import fits
from runner.results.load import load


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No fit kept from another test: the fitting process fits."""
    monkeypatch.setenv("CONCURRENCY_LAB_CACHE", str(tmp_path / "cache"))


def fitting_processes() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.name == fitting.NAME]


def test_the_fits_of_their_own_process_are_those_fitted_here(synthetic: Path, own_cache: None) -> None:
    summary = load(synthetic).summary
    apart = fitting.Fitting(summary)  # first: it fits, where this process would find them kept
    try:
        fitted = apart.result()
    finally:
        apart.close()
    assert fitted is not None and len(fitted) > 0  # the design has curves to fit
    pd.testing.assert_frame_equal(fitted, fits.fit(summary))
    assert fitting_processes() == []


def test_a_fitting_process_that_fails_leaves_the_fits_to_the_reader(
    synthetic: Path, own_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = load(synthetic).summary
    reader, real = os.getpid(), fits.fit

    def only_here(frame: pd.DataFrame) -> pd.DataFrame:
        if os.getpid() != reader:
            raise RuntimeError("the fitting process fails")
        return real(frame)

    monkeypatch.setattr(fits, "fit", only_here)
    apart = fitting.Fitting(summary)
    try:
        assert apart.result() is None
    finally:
        apart.close()
    canvas = Canvas(load(synthetic), [], synthetic / "plots", apart.result)
    pd.testing.assert_frame_equal(canvas.fits(), real(summary))  # a closed pipe: fitted here


def test_fits_no_one_reads_end_with_the_report(
    synthetic: Path, own_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process whose fits no one reads is ended, not waited for: here it would wait two minutes."""
    monkeypatch.setattr(fits, "fit", lambda frame: time.sleep(120))
    apart = fitting.Fitting(load(synthetic).summary)
    [process] = fitting_processes()
    started = time.monotonic()
    apart.close()
    assert time.monotonic() - started < 30
    assert process.exitcode == -signal.SIGTERM and fitting_processes() == []


def test_a_drawn_report_fits_once_in_the_fitting_process(
    synthetic: Path, tmp_path: Path, own_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not in the process that draws the speedup figure, nor again in this one."""
    calls, real = tmp_path / "calls", fits.fit

    def noted(frame: pd.DataFrame) -> pd.DataFrame:
        with calls.open("a") as f:
            f.write(multiprocessing.current_process().name + "\n")
        return real(frame)

    monkeypatch.setattr(fits, "fit", noted)
    drawn = report.render(synthetic)
    assert calls.read_text().splitlines() == [fitting.NAME]
    assert "speedup" in drawn.figures
    pd.testing.assert_frame_equal(drawn.fits, real(drawn.sweep.summary))
    assert fitting_processes() == []
