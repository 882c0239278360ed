"""What a figure of the report is: its registry entry (plots/__init__.py lists them) and what it is drawn from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from runner.results import fits
from runner.results.load import Sweep

# A figure's files (none without data), and the fits the speedup figure draws.
Painted = tuple[list[Path], pd.DataFrame | None]


@dataclass(frozen=True)
class Canvas:
    """What every figure is drawn from: the sweep, the cells the timeline shows, the folder,
    and where the scaling fits come from when they are not fitted here (plots/fitting.py)."""

    sweep: Sweep
    timeline_cells: list[str]
    out: Path
    fits_from: Callable[[], pd.DataFrame | None] | None = None

    def path(self, name: str) -> Path:
        return self.out / f"{name}.png"

    def fits(self) -> pd.DataFrame:
        """The scaling fits: from where they were fitted apart, else fitted here."""
        fitted = self.fits_from() if self.fits_from is not None else None
        return fitted if fitted is not None else fits.fit(self.sweep.summary)


@dataclass(frozen=True)
class ReportFigure:
    name: str  # file stem under plots/
    title: str
    caption: str  # how to read it, for the report
    cost: int  # how long it takes to draw, relative to the others: the slowest start first
    paint: Callable[[Canvas], Painted]
    # what this sweep's data show in the figure, in words and numbers from the data, after the caption
    facts: Callable[[Sweep], str] | None = None

    def caption_for(self, sweep: Sweep) -> str:
        said = self.facts(sweep) if self.facts is not None else ""
        return f"{self.caption} {said}" if said else self.caption
