"""Figures drawn before from the same tables by the same code are kept, not drawn again.

A figure is a function of the tables it is drawn from (the summary, the repetitions, the
tasks, the environment), of the cells a timeline shows, and of the code and libraries that
draw it (runner/cache.py). When it saves a figure, the drawing process notes the size and
SHA-256 of the bytes it wrote (``saved``); the report records them in the user's cache,
under a SHA-256 of those inputs. A later report that finds the record, and in ``plots/``
regular files of exactly those sizes and hashes, keeps them: they are what it would draw. A
received directory's figures vouch for nothing: only the user's own record, of bytes this
code wrote, can, and a link or a file changed since is drawn again.
"""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import numpy as np

from runner import cache
from runner.results.load import Sweep

# What this process's figures wrote since the last ``take``: file name -> [size, SHA-256]
_SAVED: dict[str, list[int | str]] = {}


def tables(sweep: Sweep) -> bytes:
    """A SHA-256 of everything a figure is drawn from: each column's name, type and values (the
    bytes of a numeric column, the JSON of any other), and the environment."""
    digest = hashlib.sha256()
    for frame in (sweep.summary, sweep.results, sweep.tasks):
        digest.update(json.dumps([len(frame), list(map(str, frame.columns))]).encode())
        for name in frame.columns:
            values = frame[name].to_numpy()
            if values.dtype.kind in "biufcmM":
                data = np.ascontiguousarray(values).tobytes()
            else:
                data = json.dumps(frame[name].tolist(), default=repr).encode()
            digest.update(f"{values.dtype}:{len(data)}:".encode() + data)
    digest.update(json.dumps(sweep.environment, sort_keys=True, default=repr).encode())
    return digest.digest()


def saved(path: Path, data: bytes) -> None:
    """Note what a figure wrote to ``path``: called by the process that drew it, with its bytes."""
    _SAVED[path.name] = [len(data), hashlib.sha256(data).hexdigest()]


def take(paths: list[Path]) -> dict[str, list[int | str]]:
    """What was noted of ``paths``, forgotten here: a figure's record."""
    return {p.name: _SAVED.pop(p.name) for p in paths if p.name in _SAVED}


def find(name: str, out: Path) -> list[Path] | None:
    """The files of figure ``name`` (its key, ``cache.key``) in ``out``, where they are those the
    record vouches for; else None, and the figure is drawn."""
    record = cache.read("figures", name)
    if not isinstance(record, dict) or not all(_plausible(k, v) for k, v in record.items()):
        return None
    paths = [out / file for file in record]
    return paths if all(_matches(p, *record[p.name]) for p in paths) else None


def record(name: str, written: dict[str, list[int | str]]) -> None:
    cache.write("figures", name, written)


def _plausible(file: object, entry: object) -> bool:
    return (
        isinstance(file, str)
        and "/" not in file
        and isinstance(entry, list)
        and len(entry) == 2
        and isinstance(entry[0], int)
        and isinstance(entry[1], str)
    )


def _matches(path: Path, size: int, sha256: str) -> bool:
    """``path`` is a regular file (no link, no FIFO) of this size and hash; only then is it read."""
    try:
        found = path.lstat()
        if not stat.S_ISREG(found.st_mode) or found.st_size != size:
            return False
        return hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    except OSError:
        return False
