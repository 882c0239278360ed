"""Leaving a command with one clear line where it fails."""

from __future__ import annotations

import argparse
import errno
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

# A full disk, a quota, a read-only or forbidden place, a file where a folder should be or a
# folder where a file should be, a path too long or looping: the user's to fix, not a bug.
WRITE_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.ENOENT,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.EEXIST,
    errno.ENAMETOOLONG,
    errno.ELOOP,
}


LONGEST = 2000  # characters of an error line


def print_error(message: str) -> None:
    """``error: MESSAGE`` as one line on stderr, every character that is not printable escaped as
    Python writes it (``\\x1e``, ``\\n``): a value from a shared YAML file or a received directory
    can neither break the line (str.splitlines also ends lines at \\x1c to \\x1e) nor send escape
    sequences to the user's terminal."""
    line = printable(message)
    if len(line) > LONGEST:  # a received file's value can be megabytes long
        line = f"{line[:LONGEST]}... ({len(line) - LONGEST} more characters)"
    print(f"error: {line}", file=sys.stderr)


def printable(text: str) -> str:
    """``text`` with every character that is not printable escaped as Python writes it."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def cannot_write(exc: OSError) -> str | None:
    """The one line for a write that failed for a reason of the user's (``WRITE_ERRNOS``); None
    for any other, which is a bug and keeps its traceback."""
    if exc.errno not in WRITE_ERRNOS:
        return None
    # a rename names the file written second: the one the user asked for, not the temporary one
    where = exc.filename2 if exc.filename2 is not None else exc.filename
    return f"output: cannot write {where or 'a file'}: {exc.strerror}"


@contextmanager
def writing(first: Callable[[], None] = lambda: None) -> Iterator[None]:
    """A command's writes: a failure of the user's is one line and exit code 1, and what was written
    before it is whole (runner/files.py writes atomically). ``first`` runs before the line is
    printed (the sweep stops its progress display: runner/sweep/errors.py)."""
    try:
        yield
    except OSError as exc:
        line = cannot_write(exc)
        if line is None:
            raise
        first()
        print_error(line)
        raise SystemExit(1) from None


class Parser(argparse.ArgumentParser):
    """The reading commands' parser: a usage error is one line, as every error here, not argparse's
    usage block and message; the description is the module docstring's first sentence."""

    def __init__(self, prog: str, doc: str | None, **kwargs: Any) -> None:
        first = doc.strip().splitlines()[0] if doc else ""
        super().__init__(prog=prog, description=first.split(": ``")[0].rstrip("."), **kwargs)

    def error(self, message: str) -> NoReturn:
        print_error(f"{message}; see {self.prog} --help")
        raise SystemExit(2)
