"""The speedup figure's fits come from a process forked before the report imports matplotlib
(runner/report/plots/fitting.py): the same fits, and the report's answer however that process ends."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pandas as pd
import pytest

from runner.report import sections as report
from runner.report.plots import fitting
from runner.results import fits
from runner.results.load import load


def test_the_fits_of_their_own_process_are_those_fitted_here(synthetic: Path) -> None:
    summary = load(synthetic).summary
    here = fits.fit(summary)
    assert len(here) > 0  # the design has curves to fit
    apart = fitting.Fitting(summary)
    try:
        pd.testing.assert_frame_equal(apart.result(), here)
    finally:
        apart.close()
    assert multiprocessing.active_children() == []


def test_a_fitting_process_that_fails_leaves_the_fits_to_the_process_that_reads_them(
    synthetic: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = load(synthetic).summary
    reader, real = os.getpid(), fits.fit

    def only_here(frame: pd.DataFrame) -> pd.DataFrame:
        if os.getpid() != reader:
            raise RuntimeError("the fitting process fails")
        return real(frame)

    monkeypatch.setattr(fitting.fits, "fit", only_here)
    apart = fitting.Fitting(summary)
    try:
        pd.testing.assert_frame_equal(apart.result(), real(summary))
    finally:
        apart.close()


def test_fits_no_one_reads_end_with_the_report(synthetic: Path) -> None:
    apart = fitting.Fitting(load(synthetic).summary)
    apart.close()
    assert multiprocessing.active_children() == []


def test_a_drawn_report_fits_once_in_the_fitting_process(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not in the process that draws the speedup figure, nor again in this one."""
    monkeypatch.setenv("CONCURRENCY_LAB_CACHE", str(tmp_path / "cache"))
    calls, real = tmp_path / "calls", fits.fit

    def noted(frame: pd.DataFrame) -> pd.DataFrame:
        with calls.open("a") as f:
            f.write(multiprocessing.current_process().name + "\n")
        return real(frame)

    monkeypatch.setattr(fits, "fit", noted)
    drawn = report.render(synthetic)
    assert calls.read_text().splitlines() == [fitting.NAME]
    assert "speedup" in drawn.figures
    pd.testing.assert_frame_equal(drawn.fits, real(drawn.sweep.summary), check_dtype=False)
    assert multiprocessing.active_children() == []
