"""Redraw the README gallery's speedup figure from the 16-core run's stored summary, with the
lab's current figure code, and print the answer its report opens with:

    python benchmarks/gallery.py                 # into docs/gallery/

The run itself is ``benchmarks/big_machine.sh`` (2026-11-27); its summary.csv is kept as
``docs/gallery/gil-16-cores-summary.csv``, in that day's schema (without the columns the lab
derives since); the gallery's other figures stay as drawn on the day.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from runner.paths import PROJECT_ROOT
from runner.report import headline
from runner.report.plots import speedup
from runner.results import fits

GALLERY = PROJECT_ROOT / "docs" / "gallery"
CORES = 16  # the machine big_machine.sh ran on


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=GALLERY)
    args = parser.parse_args()
    summary = pd.read_csv(GALLERY / "gil-16-cores-summary.csv")
    summary["start_method"] = summary["start_method"].fillna("")
    speedup.draw(summary, fits.fit(summary), CORES, args.out / "speedup.png")
    (args.out / "speedup.svg").unlink()  # the README shows the PNG
    for line in headline.lines(summary, CORES, []):
        print(f"- {line}")


if __name__ == "__main__":
    main()
