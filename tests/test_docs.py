"""Every command in the README and the tutorial runs, as written, with tiny workloads.

Commands are extracted from the ```bash blocks. Placeholders (DIR, DATE/TIME, A, B) become
real directories the earlier commands made; Hydra commands get small sizes appended (the last
value of a key wins) and their output directory, and sweeps measure one worker count: what is
checked is that each command runs as written, not the grid it measures (tests/test_sweep.py and
tests/test_experiments.py measure whole grids). Commands that need what no test machine has
(a free-threaded build) must fail with the one-line error the README promises. Install, lint
and test commands are what `.ci/run` itself runs.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from runner import files
from runner.paths import PROJECT_ROOT
from tests.conftest import lab

pytestmark = pytest.mark.slow
DOCS = [PROJECT_ROOT / "README.md", PROJECT_ROOT / "docs" / "tutorial.md"]
SMALL = ["workload.tasks=2", "repeats=1", "warmup=0", "timeout_s=120"]
ONE_WORKER_COUNT = ["workers=4"]  # the count the README's --timeline example selects
NEWCOMER = ("pip install ./my_workloads", "cd my_workloads")
RUN_BY_CI = ("python -m pip", "pip install -e", "python -m pytest", "ruff ", "mypy", "make ")
# what the README says such a machine lacks, and the error that says so
UNAVAILABLE = {"python=3.13t": "error: python: no Python 3.13t found"}
PLACEHOLDERS = re.compile(r"outputs/sweeps/(DATE/TIME|\d{4}-\d{2}-\d{2}/\d{2}-\d{2}-\d{2}|A|B)|\bDIR\b")


def commands() -> list[str]:
    found = []
    for doc in DOCS:
        for block in re.findall(r"```bash\n(.*?)```", doc.read_text(), re.S):
            for line in block.splitlines():
                command = re.sub(r"\s+#.*$", "", line).strip()
                if command:
                    found.append(command)
    return found


def test_the_docs_have_commands_to_check() -> None:
    assert len([c for c in commands() if "runner" in c]) >= 15


def run(command: str, tmp: Path, sweeps: list[Path], name: str = "") -> subprocess.CompletedProcess[str]:
    """One documented command, in ``tmp``, with placeholders filled and sizes made small; a sweep
    lands in ``tmp/name`` (by default, a name from its place in ``sweeps``)."""
    if " && " in command:  # "pip install ... && python -m runner ...": CI does the install part
        command = command.split(" && ", 1)[1]
    args = shlex.split(command)
    if args[0] == "concurrency-lab":  # the console script is `python -m runner` (tests/test_cli.py runs it)
        args = [
            "python",
            "-m",
            f"runner.{args[1]}" if args[1] in ("report", "compare", "replay") else "runner",
            *args[2 if args[1] in ("report", "compare", "replay") else 1 :],
        ]
    if args[:2] == ["pip", "install"]:
        raise AssertionError(f"unexpected install command: {command}")
    module = args[2]
    if module == "runner.compare" and "--ab" in args:  # measures its own sweep: small, into tmp
        out = files.first_free(tmp / "ab")  # a directory of its own: a sweep refuses one of other cells
        return subprocess.run(
            [sys.executable, *args[1:], *SMALL, *ONE_WORKER_COUNT, "--out", str(out)],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=600,
        )
    if module == "runner.compare":  # A and B: the first sweep and a replay of it, so cells match
        replayed = tmp / "compared"
        if not replayed.exists():
            replay = [sys.executable, "-m", "runner.replay", str(sweeps[0]), f"--out={replayed}"]
            subprocess.run(replay, cwd=tmp, capture_output=True, text=True, timeout=600, check=True)
        sweeps = [*sweeps, sweeps[0], replayed]
    for i, arg in enumerate(args):
        if PLACEHOLDERS.fullmatch(arg):
            args[i] = str(sweeps[-2] if arg.endswith("/A") else sweeps[-1])
    if module.startswith("runner."):  # report, compare, replay: read what earlier commands wrote
        if module == "runner.replay":
            args.append(f"--out={tmp / f'replay{len(sweeps)}'}")
        return subprocess.run([sys.executable, *args[1:]], cwd=tmp, capture_output=True, text=True, timeout=600)
    out = tmp / (name or f"out{len(sweeps)}")
    extra = [f"hydra.sweep.dir={out}", f"hydra.run.dir={out}"] if "--help" not in args else []
    small = [*SMALL, *(ONE_WORKER_COUNT if "-m" in args else [])] if extra else []
    proc = lab(*args[3:], *small, *extra, cwd=tmp, timeout=600)
    if proc.returncode == 0 and extra:
        sweeps.append(out)
    return proc


def _plugin_example(tmp: Path) -> None:
    """The README's own experiment file, written where its command expects it."""
    readme = DOCS[0].read_text()
    text = re.search(r"```yaml\n(# @package _global_\n# mine/experiment/(\S+)\n.*?)```", readme, re.S)
    assert text, "the README's shared experiment example"
    target = tmp / "mine" / "experiment" / text.group(2)
    target.parent.mkdir(parents=True)
    target.write_text(text.group(1))


def check(command: str, proc: subprocess.CompletedProcess[str]) -> None:
    expected_error = next((e for k, e in UNAVAILABLE.items() if k in command), None)
    if expected_error:
        assert proc.returncode == 2 and proc.stderr.startswith(expected_error), (command, proc.stderr)
    else:
        assert proc.returncode == 0, f"{command}\n{proc.stderr[-2000:]}"
        assert "Traceback" not in proc.stderr, command


def stands_alone(command: str) -> bool:
    """A shipped experiment: it reads nothing an earlier command wrote, and nothing reads it."""
    return "+experiment=" in command and "--config-dir" not in command and not PLACEHOLDERS.search(command)


def runnable() -> list[str]:
    """The documented commands a test runs: installs, lints and tests are what .ci/run runs;
    tests/test_plugin.py writes the README's own workload from its text and runs its two commands
    (installed, and from its directory)."""
    return [c for c in commands() if not c.split(" && ")[-1].startswith(RUN_BY_CI) and not c.startswith(NEWCOMER)]


def test_every_documented_command_runs(tmp_path: Path) -> None:
    """In order: later commands read what earlier ones wrote (the shipped experiments, which stand
    alone, are tests/test_docs_experiments.py's, so that another worker runs them meanwhile)."""
    _plugin_example(tmp_path)
    sweeps: list[Path] = []
    chained = [c for c in runnable() if not stands_alone(c)]
    for command in chained:
        check(command, run(command, tmp_path, sweeps))
    assert len(chained) >= 15 and len(runnable()) - len(chained) >= 5
