"""A and B measured in one run, side by side: ``python -m runner.compare --ab KEY=A,B [OVERRIDES]``.

Two sweeps measured one after the other differ by whatever the machine did in between;
where A and B are both configurations of this checkout (two interpreters, two parameter
sets, two switch intervals), the lab measures them in one sweep with ``KEY=A,B`` as its
innermost axis, so that each cell of A runs right next to the same cell of B (asv's
``continuous`` interleaves the same way), then splits the sweep in two by the job that
measured each cell and compares the halves.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

from runner.paths import child_environment
from runner.results.hydra_records import override_value
from runner.results.load import DataError, Sweep, load


def parse(ab: str) -> tuple[str, str, str]:
    """``KEY=A,B`` as (key, a, b); DataError says what is allowed."""
    key, _, values = ab.partition("=")
    sides = values.split(",")
    if not key or len(sides) != 2 or not all(sides) or sides[0] == sides[1]:
        raise DataError(
            f"--ab: {ab!r} is not KEY=A,B; allowed: one key and two different values, e.g. python=3.11,3.12"
        )
    return key, sides[0], sides[1]


def run_side_by_side(ab: str, overrides: list[str], out: Path) -> int:
    """Sweep ``overrides`` with KEY=A,B innermost into ``out``; the lab's exit code."""
    key, a, b = parse(ab)
    command = [
        sys.executable,
        "-m",
        "runner",
        "-m",
        *overrides,
        f"{key}={a},{b}",
        f"hydra.sweep.dir={override_value(str(out))}",
    ]
    return subprocess.run(command, env=child_environment()).returncode


def split(root: Path, ab: str) -> tuple[Sweep, Sweep]:
    """The sweep at ``root`` as two: the cells the jobs with KEY=A measured (and their baselines), and B's."""
    key, a, b = parse(ab)
    sweep = load(root)
    cells: dict[str, set[str]] = {a: set(), b: set()}
    for job in root.glob("*/job.json"):
        record = json.loads(job.read_text())
        for value in (a, b):
            if f"{key}={value}" in record["overrides"]:
                cells[value].add(record["cell"])
    if not cells[a] or not cells[b]:
        raise DataError(f"--ab: {root} has no jobs with {key}={a} and {key}={b}; was it measured with --ab {ab}?")
    if cells[a] & cells[b]:
        raise DataError(f"--ab: {key}={a} and {key}={b} measured the same cells; allowed: a key that changes a cell")

    def side(mine: set[str]) -> Sweep:
        results = sweep.results
        mine = mine | set(results.loc[results["cell"].isin(mine), "baseline"])
        return dataclasses.replace(
            sweep,
            results=results[results["cell"].isin(mine)],
            tasks=sweep.tasks[sweep.tasks["cell"].isin(mine)],
            summary=sweep.summary[sweep.summary["cell"].isin(mine)].reset_index(drop=True),
        )

    return side(cells[a]), side(cells[b])
