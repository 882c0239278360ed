"""Figures drawn before from the same tables by the same code are kept, not drawn again.

A figure is a function of the tables it is drawn from (the summary, the repetitions, the
tasks, the environment), of the cells a timeline shows, and of the code and libraries that
draw it (runner/cache.py). After drawing one, the report records the SHA-256 of each file
it wrote in the user's cache, under a hash of those inputs. A later report that finds the
record, and in ``plots/`` files with exactly those hashes, keeps them: they are what it
would draw. A received directory's figures are never trusted for what they claim: only the
user's own record, written after drawing, can vouch for a file, and a link is never kept.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from runner import cache
from runner.results.load import Sweep


def tables(sweep: Sweep) -> bytes | None:
    """A digest of everything a figure is drawn from; None where a table cannot be hashed."""
    digest = hashlib.sha256()
    try:
        for frame in (sweep.summary, sweep.results, sweep.tasks):
            digest.update(json.dumps([list(map(str, frame.columns)), list(map(str, frame.dtypes))]).encode())
            digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
        digest.update(json.dumps(sweep.environment, sort_keys=True, default=str).encode())
    except TypeError:  # a column of unhashable values: draw it, keep nothing
        return None
    return digest.digest()


def _sha256(path: Path) -> str | None:
    try:
        return None if path.is_symlink() else hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def find(name: str, out: Path) -> list[Path] | None:
    """The files of figure ``name`` (its key, ``cache.key``) in ``out``, where they are those the
    record vouches for; else None, and the figure is drawn."""
    record = cache.read("figures", name)
    if not isinstance(record, dict) or not all(isinstance(v, str) and "/" not in k for k, v in record.items()):
        return None
    paths = [out / file for file in record]
    return paths if all(_sha256(p) == record[p.name] for p in paths) else None


def record(name: str, paths: list[Path]) -> None:
    """What a figure just drawn wrote: its files' names and hashes."""
    hashes = {p.name: _sha256(p) for p in paths}
    if all(hashes.values()):
        cache.write("figures", name, hashes)
