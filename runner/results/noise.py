"""Why a cell's numbers deserve less trust: each reason as data, written to and read from summary.csv.

A reason has a code (the first word of its text in the ``noise`` column, as written since v1:
``cv 12% > 10%``, ``load 3.0 > 2 cores``, ``first repetition 1.8x the rest``) and what it means
to a reader. ``summary.csv`` keeps the texts joined by ``"; "``; ``codes`` reads them back, here,
beside the code that writes them, so readers (the terminal, the report) get the data, not strings
to parse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

NOISY_CV = 0.10  # the wall time's coefficient of variation above which a cell is noisy
SLOW_FIRST = 1.5  # a first repetition this many times the median of the others
BUSY_LOAD = 0.5  # a 1-minute load average above this share of the cores is a busy machine
SEPARATOR = "; "


@dataclass(frozen=True)
class Reason:
    code: str  # the first word of its text in summary.csv's noise column
    meaning: str  # for a reader


BUSY_OTHERS = 0.10  # of the machine's CPU time, taken by other programs in the median repetition

CV = Reason("cv", f"spread over {NOISY_CV:.0%}")
LOAD = Reason("load", "machine load above its cores")
FIRST = Reason("first", "a slow first repetition")
OTHERS = Reason("others", "other programs took the CPUs throughout")
REASONS = {r.code: r for r in (CV, LOAD, FIRST, OTHERS)}


def noise(wall: np.ndarray, load: float, cores: int, others: float = np.nan) -> list[tuple[Reason, str]]:
    """Why a cell's numbers deserve less trust (hyperfine's and pyperf's warnings): each reason and
    its text. ``others``: the median share of the CPUs other programs took while the tasks ran; a
    steady neighbour moves every repetition alike, so no spread shows it."""
    found = []
    if len(wall) > 1 and np.std(wall, ddof=1) / np.mean(wall) > NOISY_CV:
        found.append((CV, f"cv {np.std(wall, ddof=1) / np.mean(wall):.0%} > {NOISY_CV:.0%}"))
    if pd.notna(load) and load > cores:
        found.append((LOAD, f"load {load:.1f} > {cores} cores"))
    if len(wall) >= 3 and wall[0] > SLOW_FIRST * np.median(wall[1:]):
        found.append((FIRST, f"first repetition {wall[0] / np.median(wall[1:]):.1f}x the rest"))
    if pd.notna(others) and others > BUSY_OTHERS:
        found.append((OTHERS, f"others took {others:.0%} of the CPUs"))
    return found


def texts(wall: np.ndarray, load: float, cores: int, others: float = np.nan) -> list[str]:
    """The texts of ``noise``: what summary.csv's ``noise`` column joins."""
    return [text for _, text in noise(wall, load, cores, others)]


def column(wall: np.ndarray, load: float, cores: int, others: float = np.nan) -> str:
    """The ``noise`` column's value."""
    return SEPARATOR.join(texts(wall, load, cores, others))


def codes(value: object) -> list[str]:
    """The reason codes in a ``noise`` column's value (empty for a clean cell or a missing value)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [text.split(" ")[0] for text in str(value).split(SEPARATOR) if text]
