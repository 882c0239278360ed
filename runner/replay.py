"""Rerun a recorded run or sweep into a new directory: ``python -m runner.replay DIR``.

The command is rebuilt from Hydra's records of DIR (multirun.yaml, or .hydra/ for a
single run; runner/results/hydra_records.py): the same command-line overrides, the same
Hydra overrides, only the output directory changes. The ``--config-dir`` files come from
the copy DIR keeps (``DIR/config``, runner/sweep/carry.py), so a sweep replays on another
machine; the lab's own configs from the checkout that runs the replay, and a note says so
when its git revision is not the recorded one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from runner import files
from runner.exiting import Parser, print_error, printable
from runner.paths import PROJECT_ROOT, child_environment
from runner.results.hydra_records import CONFIG_COPY, RecordError, read
from runner.sweep import trust


def _revision_note(root: Path) -> str | None:
    path = root / "environment.json"
    if files.leads_out(root, path):  # a received directory's link (to /dev/zero, to a file of yours)
        return None
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):  # missing, not JSON, not UTF-8, nested past reading
        return None
    recorded = found.get("git_revision") if isinstance(found, dict) else None
    head = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    current = head.stdout.strip() if head.returncode == 0 else None
    if isinstance(recorded, str) and current and recorded != current:
        return printable(f"note: {root} was measured at revision {recorded[:12]}; this checkout is at {current[:12]}")
    return None


def main(argv: list[str]) -> int:
    """``argv`` as in ``sys.argv``: the program's name, then its arguments."""
    parser = Parser(argv[0], __doc__)
    parser.add_argument("dir", type=Path, help="a run or sweep directory")
    parser.add_argument("--out", type=Path, help="where the replay lands (default: DIR-replay)")
    parser.add_argument(
        "--config-dir",
        help="load the sweep's --config-dir files from here (default: DIR/config, the copy the sweep keeps, "
        "else the recorded folder)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the command and stop")
    parser.add_argument(
        "--trust",
        action="store_true",
        help="run recorded overrides that only a person may type (an interpreter path, a cell's environment, "
        "a launcher, an output place): the directory came from someone you trust",
    )
    args = parser.parse_args(argv[1:])
    args.dir = Path(os.path.abspath(args.dir))  # ".", "..": named after the directory's own name (links kept)
    try:
        recorded = read(args.dir)
    except RecordError as exc:
        print_error(f"{exc}")
        return 2
    out = (args.out or files.first_free(args.dir.with_name(f"{args.dir.name}-replay"))).absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        print_error(f"--out: {out} exists and is not an empty directory; allowed: a new or empty directory")
        return 2
    config_dirs = [args.config_dir] if args.config_dir else recorded.sources()
    missing = [d for d in config_dirs if not Path(d).is_dir()]
    if missing:
        how = "given" if args.config_dir else f"recorded; {args.dir} keeps no copy in {CONFIG_COPY}/"
        print_error(
            f"--config-dir: {missing[0]} ({how}) is not a directory; "
            "allowed: --config-dir DIR, a folder with the files the sweep was made with"
        )
        return 2
    command = [sys.executable, "-m", "runner", *recorded.argv(out, config_dirs)]
    print(printable(recorded.command(out, config_dirs)), flush=True)  # as it runs: no control character acts
    if not args.trust:
        # recorded overrides reach the command line, where they would be trusted: check them first
        record = args.dir / ("multirun.yaml" if recorded.multirun else ".hydra/hydra.yaml")
        try:
            trust.check_recorded([*recorded.task_overrides, *recorded.hydra_overrides], str(record))
        except trust.Refused as exc:
            print_error(f"{exc}")
            return 2
    note = _revision_note(args.dir)
    if note:
        print(note, flush=True)
    if args.dry_run:
        return 0
    # the replay runs this checkout's runner, whatever is installed
    return subprocess.run(command, env=child_environment()).returncode


if __name__ == "__main__":
    sys.exit(main(["python -m runner.replay", *sys.argv[1:]]))
