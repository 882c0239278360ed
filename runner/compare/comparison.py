"""Two sweeps, cell by cell: the table of ratios, intervals, p-values and verdicts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from runner.compare.matching import IDENTITY, busy, key_frame, match_keys, samples
from runner.compare.significance import (
    FASTER,
    FDR,
    INCONCLUSIVE,
    MIN_EFFECT,
    SAME,
    SLOWER,
    adjust,
    p_value,
    ratio_ci,
    verdict,
)
from runner.results import aggregate
from runner.results.labels import flags
from runner.results.load import Sweep

BASELINE = "baseline"  # a serial cell under the relative measure: the reference, not judged
MEASURES = ("relative", "wall_s")


@dataclass
class Comparison:
    table: pd.DataFrame  # one row per matched cell
    keys: list[str]
    shown: list[str]  # the keys a cell's label shows: those not implied by its workload
    differs: dict[str, tuple[str, str]]  # column -> (A's values, B's values)
    only_a: int
    only_b: int
    min_effect: float
    measure: str
    notes: list[str]  # the machines, where they may explain a difference


def compare(
    sweep_a: Sweep, sweep_b: Sweep, min_effect: float = MIN_EFFECT, measure: str = "relative", fdr: float = FDR
) -> Comparison:
    keys, differs = match_keys(sweep_a.summary, sweep_b.summary)
    a = sweep_a.summary.assign(key=key_frame(sweep_a.summary, keys))
    b = sweep_b.summary.assign(key=key_frame(sweep_b.summary, keys))
    merged = a.merge(b, on="key", suffixes=("_a", "_b"))
    relative = measure == "relative"
    # a serial cell is its own reference (relative time 1): its wall time shows the drift instead
    samples_a, samples_b = (samples(s.results, relative) for s in (sweep_a, sweep_b))
    walls_a, walls_b = (samples(s.results, False) for s in (sweep_a, sweep_b))
    busy_a, busy_b = (busy(s) for s in (sweep_a, sweep_b))
    impossible_a, impossible_b = (set(s.summary["cell"][flags(s.summary, "impossible")]) for s in (sweep_a, sweep_b))
    rows, judged = [], []
    for _, row in merged.iterrows():
        serial = relative and row["executor_a"] == "serial"
        side_a = (walls_a if serial else samples_a).get(row["cell_a"], np.array([]))
        side_b = (walls_b if serial else samples_b).get(row["cell_b"], np.array([]))
        out: dict[str, Any] = {k: row[f"{k}_a"] if f"{k}_a" in row else row.get(k) for k in keys}
        out.update(cell_a=row["cell_a"], cell_b=row["cell_b"])
        out.update({"n_a": len(side_a), "n_b": len(side_b)})
        if not len(side_a) or not len(side_b):
            empty = [name for name, side in (("A", side_a), ("B", side_b)) if not len(side)]
            out.update(verdict=f"not measured in {' and '.join(empty)}")
            rows.append(out)
            continue
        low, high = ratio_ci(side_a, side_b)
        enough = min(len(side_a), len(side_b)) >= 2
        out.update(
            {
                "measure": "wall_s" if serial else measure,
                "median_a": float(np.median(side_a)),
                "median_b": float(np.median(side_b)),
                "ratio": float(np.median(side_b) / np.median(side_a)),
                "ci_low": low,
                "ci_high": high,
                "p": p_value(side_a, side_b) if enough else math.nan,
            }
        )
        judged.append((out, side_a, side_b, serial))
        rows.append(out)
    # the baselines are the reference, not judged: they do not spend the error rate
    cells = [(o, sa, sb) for o, sa, sb, serial in judged if not serial]
    for (out, _, _), adjusted in zip(cells, adjust([o["p"] for o, _, _ in cells]), strict=True):
        out["p_adjusted"] = adjusted
    for out, side_a, side_b, serial in judged:
        p = out.get("p_adjusted", out["p"])
        p = 1.0 if math.isnan(p) else p
        label, threshold = verdict(side_a, side_b, out["ci_low"], out["ci_high"], min_effect, p=p, fdr=fdr)
        out["busy"] = max(busy_a.get(out["cell_a"], 0.0), busy_b.get(out["cell_b"], 0.0))
        if label in (FASTER, SLOWER, SAME) and out["busy"] > aggregate.OTHERS:
            # the machine, not the code, may explain a change, or hide one: other programs took the CPUs
            label = INCONCLUSIVE
        # a relative time is 1 / speedup: where the speedup is impossible, the reference is off, and no
        # verdict may rest on it (the wall times are still the cell's own)
        out["impossible"] = " and ".join(
            side
            for side, cell, flagged in (("A", out["cell_a"], impossible_a), ("B", out["cell_b"], impossible_b))
            if relative and not serial and cell in flagged
        )
        if label in (FASTER, SLOWER, SAME) and out["impossible"]:
            label = INCONCLUSIVE
        if serial:
            label = f"{BASELINE}: machine or workload {label}" if label in (FASTER, SLOWER) else BASELINE
        out.update(threshold=threshold, verdict=label)
    table = pd.DataFrame(rows)
    shown = [
        k
        for k in keys
        if k in IDENTITY
        or any(k in s and s.groupby("workload")[k].nunique().max() > 1 for s in (sweep_a.summary, sweep_b.summary))
    ]
    return Comparison(
        notes=machine_notes(sweep_a, sweep_b),
        table=table,
        keys=keys,
        shown=shown,
        differs=differs,
        only_a=int((~a["key"].isin(b["key"])).sum()),
        only_b=int((~b["key"].isin(a["key"])).sum()),
        min_effect=min_effect,
        measure=measure,
    )


def machine_notes(sweep_a: Sweep, sweep_b: Sweep) -> list[str]:
    """A busy machine slows parallel cells by more than the serial baseline (other work
    takes the cores they would use), which no normalisation undoes: say so."""
    from runner.results.noise import BUSY_LOAD

    notes = []
    for name, sweep in (("A", sweep_a), ("B", sweep_b)):
        load = (sweep.environment.get("load_before") or [None])[0]
        if load is not None and load > BUSY_LOAD * sweep.cores:
            notes.append(
                f"{name} ran on a busy machine (1-minute load {load:.2f} on {sweep.cores} cores): "
                "its parallel cells compete with other work"
            )
    return notes
