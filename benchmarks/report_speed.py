"""How long does ``python -m runner.report DIR`` take to redraw a 1,000-cell sweep?

Writes a synthetic sweep directory (benchmarks/synthetic.py: 6 executors x 8 worker
counts x 3 start methods x 12 workload configs, 3 repetitions of 64 tasks: 1,068
cells, 205,056 task rows) unless ``--dir`` already holds one, then times the command
as a user runs it, in a fresh interpreter, ``--runs`` times, and prints each wall
time, the median, and the machine's load average. Each run has an empty figure cache
of its own (runner/cache.py), so every figure is drawn: what a report of new data costs.

    python benchmarks/report_speed.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))  # run as a script from anywhere

from benchmarks.synthetic import design_for, make_sweep  # noqa: E402

BUDGET_S = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, help="reuse (or create) the synthetic sweep here")
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="report-speed-")) / "sweep"
    if not (root / "results.csv").exists():
        make_sweep(root, design_for(args.cells))
    times = []
    for run in range(args.runs):
        cache = tempfile.mkdtemp(prefix="report-speed-cache-")
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "CONCURRENCY_LAB_CACHE": cache}
        load = os.getloadavg()[0]
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "runner.report", str(root)], check=True, env=env, capture_output=True)
        times.append(time.perf_counter() - start)
        print(f"run {run + 1}: {times[-1]:.2f} s (1-minute load before: {load:.2f} on {os.cpu_count()} CPUs)")
    median = statistics.median(times)
    verdict = "within" if median < BUDGET_S else "over"
    print(f"{root}: median {median:.2f} s over {len(times)} runs, {verdict} the {BUDGET_S:g} s budget")


if __name__ == "__main__":
    main()
