"""Does the lab tell the truth on this machine? A/A sweeps, a known change, impossible values.

Runs the README's default sweep K times, identically, and once with every task 30%
longer (``--change``), alternating, then prints:

- the A/A rate: of all cells judged between two identical sweeps (every pair of them),
  the share that `compare` calls faster or slower (relative times, and raw wall times);
- the movement of the cpu speedups between identical sweeps, median and worst over
  cells and pairs: |S_i / S_j - 1|, for the lab's paired speedups and, side by side,
  for the unpaired ones (the baseline's median wall time over the cell's);
- the power on the known change: the share of cells that `compare --measure wall_s`
  calls slower between each identical sweep and the changed one (a longer task moves
  no relative time, by design, so the change is judged on wall times);
- impossible values: cells whose median speedup exceeds min(tasks in flight, CPUs) on
  work that only computes, and how many of those the lab left unflagged.

    python benchmarks/aa.py --sweeps 3 [--figure docs/gallery/aa.png] [--keep DIR] [-- OVERRIDE ...]

Overrides after ``--`` (``rounds=3 repeats=1``) apply to every sweep, to try a method.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from runner import compare
from runner.core import pairing
from runner.paths import PROJECT_ROOT
from runner.results.load import Sweep, load
from runner.sweep import interleave

SWEEP = ["-m", "executor=thread,process", "workers=1,2,4,8"]
LONGER = {"cpu": ("n", 200_000), "sleep": ("seconds", 0.02)}
CHANGED = {compare.FASTER, compare.SLOWER}
METHOD: list[str] = []  # the overrides after ``--``, for every sweep


def run(root: Path, options: tuple[str, ...] = (), overrides: tuple[str, ...] = ()) -> Sweep:
    """The default sweep into ``root``; ``options`` such as --config-dir go before ``-m``."""
    subprocess.run(
        [sys.executable, "-m", "runner", *options, *SWEEP, *overrides, *METHOD, f"hydra.sweep.dir={root}"],
        check=True,
        cwd=PROJECT_ROOT,
        capture_output=True,
    )
    return load(root)


def longer_workloads(conf: Path, factor: float) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(options, overrides) for the default workloads with every task ``factor`` times longer."""
    (conf / "workload").mkdir(parents=True, exist_ok=True)
    names = []
    for name, (param, value) in LONGER.items():
        scaled = type(value)(value * factor)
        text = f"defaults: [/base_workload@_here_, _self_]\nname: {name}\ntasks: {32 if name == 'sleep' else 64}\n"
        (conf / "workload" / f"{name}_longer.yaml").write_text(f"{text}params: {{{param}: {scaled}}}\n")
        names.append(f"{name}_longer")
    return ("--config-dir", str(conf)), (f"workload={','.join(names)}",)


def judged(table: pd.DataFrame) -> pd.DataFrame:
    return table[(table["executor"] != "serial") & table["verdict"].ne(compare.TOO_FEW)]


def movement(sweeps: list[Sweep], column: str) -> np.ndarray:
    """|S_i / S_j - 1| of each cpu cell's median speedup, over every pair of sweeps."""
    medians = [
        s.results[(s.results["workload"] == "cpu") & (s.results["executor"] != "serial")]
        .groupby(["executor", "workers"])[column]
        .median()
        for s in sweeps
    ]
    moves = [np.abs(a / b - 1).to_numpy() for a, b in itertools.combinations(medians, 2)]
    return np.concatenate(moves) if moves else np.array([])


def impossible(sweeps: list[Sweep]) -> tuple[int, int, int]:
    """On work that only computes (cpu): cells whose median speedup exceeds min(in flight, CPUs);
    of those, the ones within the lab's timer slack (not flagged by design), and the ones
    beyond it that the lab left unflagged."""
    above = within = unflagged = 0
    for sweep in sweeps:
        cpu = sweep.summary[(sweep.summary["workload"] == "cpu") & (sweep.summary["status"] == "ok")]
        cap = np.minimum(cpu["in_flight"], sweep.cores)
        over = cpu["speedup_median"] > cap
        slack = (cpu["speedup_median"] <= cap * (1 + pairing.CAPACITY_SLACK)) & (
            cpu["speedup_ci_low"] <= cap * (1 + pairing.CAPACITY_SLACK / 2)
        )
        flagged = cpu["impossible"].astype(bool)
        above += int(over.sum())
        within += int((over & slack & ~flagged).sum())
        unflagged += int((over & ~slack & ~flagged).sum())
    return above, within, unflagged


def interleaved_power(root: Path, factor: float) -> pd.Series:
    """The known change measured the recommended way: A and B interleaved in one sweep (--ab)."""
    n = LONGER["cpu"][1]
    ab = f"workload.params.n={n},{int(n * factor)}"
    subprocess.run(
        [sys.executable, "-m", "runner.compare", "--ab", ab, "workload=cpu", *SWEEP[1:], *METHOD, "--out", str(root)],
        check=True,
        cwd=PROJECT_ROOT,
        capture_output=True,
    )
    a, b = interleave.split(root, ab)
    return judged(compare.compare(a, b, measure="wall_s").table)["verdict"]


def figure(sweeps: list[Sweep], path: Path) -> None:
    """Each cpu cell's median speedup in every identical sweep: the lab's against the baseline alone."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    rows = []
    for i, s in enumerate(sweeps):
        cpu = s.results[(s.results["workload"] == "cpu") & (s.results["executor"] != "serial")]
        for (executor, workers), group in cpu.groupby(["executor", "workers"]):
            label = f"{executor} {workers}"
            rows.append({"cell": label, "sweep": i, "how": "paired (the lab)", "speedup": group["speedup"].median()})
            rows.append({"cell": label, "sweep": i, "how": "unpaired", "speedup": group["speedup_unpaired"].median()})
    frame = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(9, 4))
    sns.stripplot(data=frame, x="cell", y="speedup", hue="how", dodge=True, jitter=False, size=7, ax=ax)
    ax.set_xlabel("cpu workload: executor, workers")
    ax.set_ylabel("median speedup")
    ax.set_title(f"The same sweep {len(sweeps)} times: each cpu cell's median speedup in each", loc="left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", type=int, default=3, help="identical sweeps (at least 2)")
    parser.add_argument("--change", type=float, default=1.3, help="the known change: tasks this much longer")
    parser.add_argument("--figure", type=Path, help="write the paired-vs-unpaired figure here")
    parser.add_argument("--keep", type=Path, help="keep the sweeps in this directory")
    parser.add_argument("method", nargs="*", help="overrides for every sweep, after --")
    args = parser.parse_args()
    METHOD.extend(args.method)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        identical = []
        changed = None
        took = []
        for i in range(args.sweeps):
            started = time.perf_counter()
            identical.append(run(root / f"aa-{i}"))
            took.append(time.perf_counter() - started)
            print(f"sweep {i + 1} of {args.sweeps} done", file=sys.stderr)
            if i == 0:  # between identical sweeps, so that slow drift favours neither side
                changed = run(root / "changed", *longer_workloads(root / "conf", args.change))
                print("changed sweep done", file=sys.stderr)
        assert changed is not None
        rates = {}
        for measure in compare.MEASURES:
            tables = [
                judged(compare.compare(a, b, measure=measure).table) for a, b in itertools.combinations(identical, 2)
            ]
            verdicts = pd.concat(tables)["verdict"]
            rates[measure] = (int(verdicts.isin(CHANGED).sum()), len(verdicts), verdicts.value_counts().to_dict())
        power = pd.concat([judged(compare.compare(a, changed, measure="wall_s").table) for a in identical])["verdict"]
        paired, unpaired = movement(identical, "speedup"), movement(identical, "speedup_unpaired")
        above, within, unflagged = impossible([*identical, changed])
        side_by_side = interleaved_power(root / "interleaved", args.change)
        if args.figure:
            figure(identical, args.figure)
    method = f" with {' '.join(METHOD)}" if METHOD else ""
    print(f"{args.sweeps} identical default sweeps{method}, and one with every task {args.change:g}x longer")
    print(f"each identical sweep took {', '.join(f'{t:.1f}' for t in took)} s")
    for measure, (called, total, counts) in rates.items():
        print(f"A/A ({measure}): {called} of {total} judged cells called changed ({called / total:.1%}); {counts}")
    print(
        f"cpu speedup movement between identical sweeps: paired median {np.median(paired):.1%}, worst "
        f"{paired.max():.1%}; unpaired median {np.median(unpaired):.1%}, worst {unpaired.max():.1%}"
    )
    slower = int((power == compare.SLOWER).sum())
    print(
        f"power on the {args.change:g}x change (wall_s): {slower} of {len(power)} cells called slower "
        f"({slower / len(power):.0%})"
    )
    slower = int((side_by_side == compare.SLOWER).sum())
    print(
        f"power on the {args.change:g}x change measured interleaved (--ab, wall_s): {slower} of {len(side_by_side)} "
        f"cells called slower ({slower / len(side_by_side):.0%})"
    )
    print(
        f"impossible values: {above} cpu cell(s) above min(in flight, CPUs); {within} of them within the lab's "
        f"timer slack ({pairing.CAPACITY_SLACK:.0%}, not flagged by design); {unflagged} beyond it left unflagged"
    )


if __name__ == "__main__":
    main()
