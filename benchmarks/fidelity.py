"""Does the lab agree with a plain concurrent.futures script, and what does it cost per cell?

Runs the README's default sweep through ``python -m runner -m`` and the plain script
in ``plain_futures.py`` alternately (``--rounds`` times each, interleaved so that the
machine's drift hits both), then prints, per cell, the median speedup of each and
their ratio, and the lab's overhead per cell: the sweep's wall time minus the time
its cells spent measuring (start-up, tasks and shutdown of every repetition, and the serial
probe before each: ``overhead.measured``), divided by the number of cells measured.

    python benchmarks/fidelity.py --rounds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pandas as pd
from overhead import measured  # beside this file: what a sweep's cells spent measuring, probes included

from runner.paths import PROJECT_ROOT

SWEEP = ["-m", "executor=thread,process", "workers=1,2,4,8"]


def lab_sweep(root: Path) -> tuple[dict[str, float], float]:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "runner", *SWEEP, f"hydra.sweep.dir={root}"],
        check=True,
        cwd=PROJECT_ROOT,
        capture_output=True,
    )
    wall = time.perf_counter() - start
    summary = pd.read_csv(root / "summary.csv")
    speedups = {
        f"{r.workload}/{r.executor}/{r.workers}": r.speedup_median
        for r in summary.itertuples()
        if r.executor != "serial"
    }
    records, busy = measured(root)
    return speedups, (wall - busy) / records


def plain() -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("plain_futures.py"))],
        check=True,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(PROJECT_ROOT)},
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    lab: dict[str, list[float]] = defaultdict(list)
    ref: dict[str, list[float]] = defaultdict(list)
    overheads = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            speedups, overhead = lab_sweep(Path(tmp) / f"round{r}")
            overheads.append(overhead)
            for key, value in speedups.items():
                lab[key].append(value)
            for key, value in plain().items():
                ref[key].append(value)
    print(f"{'cell':<22}{'lab':>8}{'plain':>8}{'lab/plain':>11}")
    ratios = []
    for key in sorted(ref):
        a, b = statistics.median(lab[key]), statistics.median(ref[key])
        ratios.append(a / b)
        print(f"{key:<22}{a:8.2f}{b:8.2f}{a / b:11.3f}")
    within = sum(abs(r - 1) <= 0.10 for r in ratios)
    print(
        f"cells within 10% of the plain script: {within}/{len(ratios)}; "
        f"median |lab/plain - 1| = {statistics.median(abs(r - 1) for r in ratios):.3f}"
    )
    print(
        f"overhead per cell: median {statistics.median(overheads):.3f} s over {args.rounds} sweeps "
        f"({', '.join(f'{o:.3f}' for o in overheads)})"
    )


if __name__ == "__main__":
    main()
