"""How noisy are the default sweep's cells here, with and without interleaved rounds?

Runs the README's default sweep with ``rounds=1`` and with ``rounds=3`` (alternately,
``--pairs`` times) and prints, for each, the coefficient of variation of wall time per
cell (median and worst over cells) and how many cells the lab flags as noisy.

    python benchmarks/noise.py --pairs 1
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from runner.paths import PROJECT_ROOT

SWEEP = ["-m", "executor=thread,process", "workers=1,2,4,8"]


def sweep(root: Path, rounds: int) -> pd.DataFrame:
    subprocess.run(
        [sys.executable, "-m", "runner", *SWEEP, f"rounds={rounds}", f"hydra.sweep.dir={root}"],
        check=True,
        cwd=PROJECT_ROOT,
        capture_output=True,
    )
    return pd.read_csv(root / "summary.csv")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=1)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for pair in range(args.pairs):
            for rounds in (1, 3):
                summary = sweep(Path(tmp) / f"{pair}-{rounds}", rounds)
                rows.append(
                    (
                        rounds,
                        summary["cv"].median(),
                        summary["cv"].max(),
                        int(summary["noisy"].sum()),
                        len(summary),
                        int(summary["n"].median()),
                    )
                )
    print(f"{'rounds':>6} {'cv median':>10} {'cv worst':>9} {'noisy':>7} {'reps/cell':>9}")
    for rounds in (1, 3):
        mine = [r for r in rows if r[0] == rounds]
        print(
            f"{rounds:>6} {statistics.median(r[1] for r in mine):>10.1%} {max(r[2] for r in mine):>9.1%} "
            f"{statistics.median(r[3] for r in mine):>4.0f}/{mine[0][4]:<2} {mine[0][5]:>9}"
        )


if __name__ == "__main__":
    main()
