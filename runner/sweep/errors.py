"""Bad input and failed writes as one line on stderr and an exit code, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from runner.exiting import print_error, writing
from runner.sweep.progress import SweepProgress

EXIT_BAD_INPUT = 2


class Uncomposable(BaseException):
    """A job of the sweep that Hydra cannot compose, found before the sweep writes anything.

    A BaseException, as SystemExit is, because Hydra turns an Exception raised in a callback
    into a warning and goes on: its sweeper would then create the sweep directory before it
    met the same error. The command line (runner/cli.py) says it in one line.
    """

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Bad input: one line on stderr, a non-zero exit, no traceback.

    SystemExit, unlike an exception, also stops Hydra's launcher from running the
    remaining jobs, and passes through Hydra's callback error handling.
    """
    SweepProgress.stop()
    print_error(message)
    raise SystemExit(code)


@contextmanager
def writing_output() -> Iterator[None]:
    """Turn a failed write into one line and exit code 1; the files written so far are whole (atomic)."""
    with writing(first=SweepProgress.stop):
        yield
