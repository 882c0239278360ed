"""What a run or sweep does after its last cell: aggregate, draw the report, print the summary.

That costs about 1 s of imports (pandas, matplotlib, the report) before any work. A sweep
spends its first second in Hydra (composing, validating) on one CPU, so the command starts a
helper process then (``start``), ``python -m runner.sweep.finishing``, which imports all that
and says it is ready; the sweep waits for that before its first cell measures
(``wait_until_ready``), so the helper never runs beside a measurement, and from then on it
waits on stdin, taking no CPU. After the last cell, ``finish`` hands it the directory: it
summarizes, writes to the same terminal, and exits with the code the sweep then exits with.
Where there is no helper (output redirected inside this process, a helper that failed), the
sweep summarizes in its own process, as the helper would.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import traceback
from pathlib import Path

from runner import files
from runner.collector import command, importing
from runner.core.probes import load_average
from runner.files import write_json
from runner.paths import child_environment
from runner.results import environment
from runner.sweep.errors import fail, writing_output

READY_S = 60.0  # a helper not ready by then (a machine swapping) is dropped, not waited for

# The helper, while there is one: its process and the pipe on which it says it is ready.
_helper: list[tuple[subprocess.Popen[bytes], int]] = []


def summarize(root: Path, draw: bool = True) -> None:
    from runner.report import terminal as console
    from runner.results.aggregate import aggregate

    env = environment.read_environment(root)
    env["load_after"] = load_average()
    if env.get("sessions"):
        env["sessions"][-1]["load_after"] = env["load_after"]
    write_json(root / "environment.json", env)
    table = aggregate(root)
    if not draw:  # report=false: the tables only; the report is one command away, any time
        console.print_summary(table, root, [])
        print(f"report: not drawn (report=false); draw it with: python -m runner.report {root}")
        return
    from runner.report import sections as report
    from runner.results.load import DataError

    try:
        written = report.render(root)
    except DataError as exc:  # nothing measured to report: the summary says why
        console.print_summary(table, root, [])
        print(f"report: not written ({exc})")
        return
    except Exception as exc:
        console.print_summary(table, root, [])
        # Hydra would turn this into a warning and exit 0: say it, keep the details, fail
        files.write_text(root / "report-error.txt", traceback.format_exc())
        fail(
            f"report: {type(exc).__name__}: {exc}; the measurements are safe in {root} (details in "
            "report-error.txt); redraw with: python -m runner.report DIR",
            code=1,
        )
    console.print_summary(table, root, written.answer)
    console.print_verdicts(written.verdicts)
    print(f"report: {root / 'report.html'}")


def _summarize_here(root: Path, report: bool) -> None:
    with writing_output():
        try:
            summarize(root, report)
        except OSError:  # a failed write is writing_output's one line; a closed pipe, the caller's
            raise
        except Exception as exc:  # a bug, or a record broken by hand: one line, the details beside it
            details = root / "summary-error.txt"
            try:
                files.write_text(details, traceback.format_exc())
                where = f" (details in {details})"
            except OSError:
                where = ""
            fail(f"summary: {type(exc).__name__}: {exc}{where}", code=1)


def _terminal_output() -> bool:
    """Whether this process writes to its file descriptors 1 and 2, which a helper shares; not
    where output is redirected inside the process (a test, a notebook)."""
    try:
        return sys.stdout.fileno() == 1 and sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False


# Flags after which Hydra prints something and runs no job: what cli.preflight reads from Hydra's
# own parser, named here because the helper starts before Hydra is imported.
NO_JOB = {"--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i", "--shell-completion", "-sc", "--version"}


def start(argv: list[str]) -> None:
    """Start the helper for the command ``argv``, unless it runs no job, there is a helper
    already, or the helper's output could not be this process's."""
    if _helper or NO_JOB & set(argv) or not _terminal_output():
        return
    ready, told = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "runner.sweep.finishing", str(told)],
            stdin=subprocess.PIPE,
            pass_fds=(told,),
            env=child_environment(),
            start_new_session=True,  # Ctrl-C is the sweep's to handle; the helper ends with its stdin
        )
    except OSError:  # no process to spare (EAGAIN, ENOMEM): the sweep summarizes itself
        os.close(ready)
        return
    finally:
        os.close(told)
    _helper.append((proc, ready))


def _end(proc: subprocess.Popen[bytes], ready: int) -> None:
    """Kill ``proc`` (first, so that it cannot write on a closed pipe) and close what is open to it."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    if proc.stdin is not None:
        proc.stdin.close()
    if ready >= 0:
        os.close(ready)


def discard() -> None:
    """End the helper: the command stopped before its summary (bad input, an interrupt), or is done."""
    while _helper:
        _end(*_helper.pop())


atexit.register(discard)


def wait_until_ready() -> None:
    """Return once the helper has imported what it needs (or is gone): call before a cell measures."""
    if not _helper or _helper[0][1] < 0:  # none, or waited for already
        return
    proc, ready = _helper[0]
    readable, _, _ = select.select([ready], [], [], READY_S)
    said = os.read(ready, 1) if readable else b""
    _helper[0] = (proc, -1)
    os.close(ready)
    if said != b"r":  # it failed to start, or took too long: the sweep summarizes itself
        discard()


def finish(root: Path, report: bool) -> None:
    """Aggregate, write the report (unless ``report`` is false), and print the summary and verdicts,
    in the helper where there is one ready; the report reads only the files."""
    wait_until_ready()
    if not _helper:
        _summarize_here(root, report)
        return
    proc, _ = _helper[0]
    sys.stdout.flush()
    sys.stderr.flush()
    assert proc.stdin is not None
    try:
        # as given: the helper works in the directory the command started in, and the report
        # prints paths as the user wrote them
        proc.stdin.write(json.dumps({"root": str(root), "report": report}).encode() + b"\n")
        proc.stdin.close()
    except OSError:  # it died while the cells ran
        discard()
        _summarize_here(root, report)
        return
    code = proc.wait()  # an interrupt here leaves it in _helper, for discard
    _helper.clear()
    if code < 0:  # killed (the OOM killer): what it wrote is whole; summarize again here
        print(f"warning: the summary's helper was killed by signal {-code}; summarizing here", file=sys.stderr)
        _summarize_here(root, report)
    elif code:
        raise SystemExit(code)  # the helper has said why, on the same stderr


def serve(told: int) -> int:
    """The helper: import, say so on ``told``, then summarize the directory named on stdin."""
    with importing():
        from runner.report import sections, terminal  # noqa: F401  (what a summary imports, now)
        from runner.report.plots import common
        from runner.results import aggregate  # noqa: F401

        common.matplotlib_ready()  # what drawing needs: imported before the first cell, not after the last

    try:
        os.write(told, b"r")
        os.close(told)
    except OSError:  # the sweep is gone
        return 0
    line = sys.stdin.readline()
    if not line:  # the sweep ended without a summary
        return 0
    job = json.loads(line)
    try:
        _summarize_here(Path(job["root"]), bool(job["report"]))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as the sweep does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    command()
    sys.exit(serve(int(sys.argv[1])))
