"""The files the lab writes: one atomic writer, and every format version beside its history.

Standard library only: the measuring core writes its result through it. Every file the
runner writes (cell records, plan.json, environment.json, the CSVs, report.md and .html,
the figures, compare.md) goes through ``write_bytes``, so a reader (a resumed sweep, the
report, a second sweep sharing a directory) sees the whole old file or the whole new one,
never half of one. tests/test_architecture.py checks that no other module writes files.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Format versions. A reader accepts its version and the unversioned files from before
# versioning; a newer version is refused with one line. Columns or keys added within a
# version are optional to readers (docs/architecture.md, "Tidy CSV schema").

# cells/<cell>-r<round>.json, the record python -m runner.core.cell writes.
#   1: the first versioned record (status, reps, tasks; later additions within 1: probes,
#      native pools, precision, noise probes).
RESULT_SCHEMA = 1

# The cell spec runner.sweep.spec builds and the cell reads.
#   1: the first versioned spec.
SPEC_SCHEMA = 1

# results.csv's ``schema`` column and environment.json's ``schema`` key.
#   1: the tidy schema of docs/architecture.md (native columns, repeats, probe and noise
#      columns are additions within 1).
TIDY_SCHEMA = 1


def temporary(path: Path) -> Path:
    """Where ``write_bytes`` puts the bytes for ``path`` until they are whole: a hidden name no
    one can guess, beside it."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def is_temporary(name: str) -> bool:
    """Whether a file of this name is one of ``temporary``'s (left behind where its writer was killed)."""
    return name.startswith(".") and name.endswith(".tmp")


def write_bytes(path: Path, data: bytes) -> None:
    """Write atomically: a reader sees the whole file or none (a temporary file, then os.replace).
    The temporary file is created new (O_EXCL, which refuses a link too, under a name no one can
    guess), so a link planted in a received directory cannot send the bytes elsewhere; the umask
    sets its mode, as for any file the user writes."""
    tmp = temporary(path)
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode())


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data))


def leads_out(root: Path, path: Path) -> bool:
    """Whether ``path``, named inside ``root``, leads out of it through a symbolic link (to a file
    elsewhere, to /dev/zero, to a folder elsewhere): the lab reads and writes a results directory,
    which may have come from someone else, only inside it (docs/security.md)."""
    try:
        return (path.is_symlink() or path.exists()) and not path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a loop of links (Python 3.11 raises RuntimeError): leads nowhere inside
        return True


def own(root: Path, path: Path, error: Callable[[str], Exception]) -> Path:
    """``path``, where it does not lead out of ``root`` (``leads_out``); else ``error`` of one line."""
    if leads_out(root, path):
        named = path.relative_to(root) if path.is_relative_to(root) else path
        raise error(f"{named}: a symbolic link out of {root}; allowed: the directory's own files")
    return path


def links_out(folder: Path, root: Path | None = None) -> Path | None:
    """The first entry under ``folder`` that leads out of ``root`` (by default ``folder``) through a
    symbolic link, if any; links are not followed into, so a link to a folder elsewhere is found,
    not walked."""
    root = folder if root is None else root
    for where, dirs, names in os.walk(folder):
        for name in sorted([*dirs, *names]):
            entry = Path(where) / name
            if entry.is_symlink() and leads_out(root, entry):
                return entry
    return None


def first_free(path: Path, make: bool = False) -> Path:
    """``path``, else ``path-2``, ``path-3``, ...: the first that does not exist (a dangling link
    exists), so that no earlier output is replaced. ``make``: created here as a folder, which
    claims it from another command looking at the same moment."""
    candidate, n = path, 2
    while True:
        if make:
            try:
                candidate.mkdir()
                return candidate
            except FileExistsError:
                pass
        elif not os.path.lexists(candidate):
            return candidate
        candidate, n = path.with_name(f"{path.name}-{n}"), n + 1


def move(source: Path, target: Path) -> None:
    """Move a file within one file system (a rename: atomic, as every write here)."""
    os.replace(source, target)
