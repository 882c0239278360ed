"""Redraw a run's or sweep's figures and report from its files: ``python -m runner.report DIR``.

It reads only results.csv, summary.csv and environment.json; it never measures.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

from runner import plots
from runner.environment import cores, read_environment


def readable(root: Path) -> pd.DataFrame:
    """results.csv, or ValueError saying why it cannot be a lab's results file."""
    try:
        results = pd.read_csv(root / "results.csv")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot be read as CSV ({str(exc).strip().splitlines()[0]})") from None
    missing = [c for c in ("cell", "workload", "executor", "workers", "status", "wall_s") if c not in results]
    if missing:
        raise ValueError(f"not a concurrency-lab results file; missing columns: {', '.join(missing)}")
    return results


def render(root: Path) -> list[Path]:
    results = pd.read_csv(root / "results.csv")
    env = read_environment(root)
    out = root / "plots"
    out.mkdir(exist_ok=True)
    n = cores(env)
    if "status" not in results or not results["status"].eq("ok").any():
        return []  # nothing measured to draw
    return [
        plots.speedup(results, n, out / "speedup.png"),
        plots.concurrency_parallelism(results, n, out / "concurrency_parallelism.png"),
    ]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m runner.report DIR", file=sys.stderr)
        return 2
    root = Path(argv[1])
    if not (root / "results.csv").is_file():
        print(f"error: {root}: no results.csv here; give a run or sweep directory", file=sys.stderr)
        return 2
    try:
        readable(root)
    except ValueError as exc:
        print(f"error: {root / 'results.csv'}: {exc}", file=sys.stderr)
        return 2
    for path in render(root):
        print(os.fspath(path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
