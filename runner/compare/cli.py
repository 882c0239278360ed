"""``python -m runner.compare``: two directories, or A and B measured in one sweep (``--ab``)."""

from __future__ import annotations

from pathlib import Path

import runner.compare
from runner import files
from runner.compare.comparison import MEASURES, compare
from runner.compare.matching import IDENTITY
from runner.compare.output import holds_comparison, print_table, write
from runner.compare.significance import FDR, MIN_EFFECT
from runner.exiting import Parser, print_error, writing
from runner.results.load import DataError, Sweep, load


def main(argv: list[str]) -> int:
    """``argv`` as in ``sys.argv``: the program's name, then its arguments."""
    parser = Parser(
        argv[0],
        runner.compare.__doc__,
        epilog="With --ab KEY=A,B the arguments are a sweep's overrides instead of two directories: A and B are "
        "measured in one sweep, interleaved cell by cell, then compared (runner/sweep/interleave.py).",
    )
    parser.add_argument(
        "dirs", nargs="*", help="DIR_A DIR_B: the reference run or sweep, then the one compared with it"
    )
    parser.add_argument("--ab", metavar="KEY=A,B", help="measure A and B interleaved in one sweep, then compare")
    parser.add_argument("--min-effect", type=float, default=MIN_EFFECT, help="smallest change that counts (0.05: 5%%)")
    parser.add_argument("--measure", choices=MEASURES, default="relative", help="relative (default) or wall_s")
    parser.add_argument("--fdr", type=float, default=FDR, help="false discovery rate over the cells (0.05: 5%%)")
    parser.add_argument(
        "--out",
        type=Path,
        help="where compare.md, .csv and the figure go (default: DIR_B/compare); with --ab, the sweep's "
        "directory, the comparison in its compare/",
    )
    args = parser.parse_args(argv[1:])
    if not 0 <= args.min_effect < 1:
        print_error(f"--min-effect: {args.min_effect} is out of range; allowed: 0 to below 1")
        return 2
    if not 0 < args.fdr < 1:
        print_error(f"--fdr: {args.fdr} is out of range; allowed: above 0 and below 1")
        return 2
    if args.ab is None and len(args.dirs) != 2:
        print_error("dirs: expected DIR_A DIR_B; allowed: two directories, or --ab KEY=A,B OVERRIDES")
        return 2
    try:
        if args.ab is not None:
            sweep_a, sweep_b = measured_side_by_side(args.ab, args.dirs, args.out)
            dir_a = dir_b = sweep_a.root
        else:
            dir_a, dir_b = Path(args.dirs[0]), Path(args.dirs[1])
            sweep_a, sweep_b = load(dir_a), load(dir_b)
        inside = args.ab is not None or args.out is None  # else the place the user typed
        if not inside and holds_comparison(args.out):
            raise DataError(f"--out: {args.out} holds a comparison already; allowed: a folder without one")
    except DataError as exc:
        print_error(f"{exc}")
        return 2
    comparison = compare(sweep_a, sweep_b, args.min_effect, args.measure, args.fdr)
    if comparison.table.empty:
        print_error(f"no cells in common; matched on {', '.join(comparison.keys)}")
        return 2
    print_table(comparison)
    if args.ab is None and dir_a.resolve() == dir_b.resolve():
        print(f"note: A and B are the same directory ({dir_a}): every cell is compared with itself")
    with writing():
        # a folder of its own in B, made here: compare/, else compare-2/, ... (an earlier comparison
        # is kept, and a link a received B holds under such a name is passed by, never written through)
        out = files.first_free(dir_b / "compare", make=True) if inside else args.out
        written = write(comparison, dir_a, dir_b, out)
    print(f"compare: {written[0]}")
    return 0


# The overrides that choose which cell is measured, not how: the columns cells are always
# matched on, so an --ab on one of them splits the sweep into halves with no cell in common.
CELL_NAMES = {*IDENTITY, "workload.name", "executor.name"}


def measured_side_by_side(ab: str, overrides: list[str], out: Path | None) -> tuple[Sweep, Sweep]:
    """--ab: one sweep with KEY=A,B interleaved into ``out`` (default outputs/sweeps/ab-TIME), split in two."""
    from datetime import datetime

    from runner.sweep import interleave

    key, _, _ = interleave.parse(ab)  # a malformed KEY=A,B fails before anything runs
    if key.lstrip("+") in CELL_NAMES:
        raise DataError(
            f"--ab: cells are matched on {key.lstrip('+').split('.')[0]}, so A and B would share no cell; allowed: "
            "a key that changes how a cell runs, e.g. python, gil, switch_interval, native_threads, "
            "workload.params.NAME"
        )
    loose = next((o for o in overrides if "=" not in o and not o.startswith("~")), None)
    if loose is not None:  # two directories, as without --ab
        raise DataError(f"--ab: {loose} is not an override; allowed: with --ab, the sweep's KEY=VALUE overrides")
    again = [o for o in overrides if o.lstrip("+~").partition("=")[0] == key.lstrip("+")]
    if again:
        raise DataError(f"--ab: {key} is also given as {again[0]}; allowed: the key once, in --ab")
    root = (out or Path("outputs/sweeps") / datetime.now().strftime("ab-%Y-%m-%d-%H-%M-%S")).absolute()
    code = interleave.run_side_by_side(ab, overrides, root)
    if code != 0:
        raise DataError(f"--ab: the sweep into {root} exited with code {code}; see above")
    return interleave.split(root, ab)
