"""What the lab keeps between runs: the results of pure computations, under a hash of every input.

The cache lives in the user's own folder (``$CONCURRENCY_LAB_CACHE``, else
``$XDG_CACHE_HOME/concurrency-lab``, else ``~/.cache/concurrency-lab``), never in a results
directory, which may have come from someone else (docs/security.md). Every key includes this
code (every source file of the ``runner`` package), the interpreter and the versions of the
libraries that compute or draw, so a change to any of them computes afresh. Losing the cache
costs time, never a result: an entry that is missing, unreadable or cannot be written is
computed as if there were no cache. Each kind is kept near ``LIMIT`` entries: the first write of
a kind in a process finding more trims it to the ``KEEP`` most recently used (a read marks an
entry used), so entries of code and libraries since replaced do not pile up; nor do the
temporary files of writes whose process was killed before it could remove them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from runner import files

VERSION = 1
# What computes or draws what is kept: the figures, the scaling fits
LIBRARIES = ("matplotlib", "numpy", "pandas", "pillow", "scipy")
# Entries of one kind (a report keeps six figure records and one per fitted curve, each under a
# kilobyte); trimmed to KEEP so that the next few reports add entries without trimming again
LIMIT = 4000
KEEP = 3000
# A write's temporary file (runner/files.py) left by a process killed mid-write; one this old
# belongs to no write still going on
STALE_S = 3600.0


def folder() -> Path | None:
    """Where the cache is; None where no home is known (a container without one): no cache."""
    chosen = os.environ.get("CONCURRENCY_LAB_CACHE")
    if chosen:
        return Path(chosen)
    try:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    except RuntimeError:
        return None
    return Path(base) / "concurrency-lab"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


@functools.cache
def code() -> bytes:
    """A digest of what computes every kept result: this package's sources, Python, the libraries.
    Taken when this module is first imported, with the modules that compute what is kept: a
    source edited while a long sweep runs is not the code its summary draws with."""
    digest = hashlib.sha256(f"{VERSION} {sys.version}".encode())
    digest.update(json.dumps([_version(name) for name in LIBRARIES]).encode())
    package = Path(__file__).parent
    for source in sorted(package.rglob("*.py")):
        digest.update(str(source.relative_to(package)).encode() + b"\0" + source.read_bytes())
    return digest.digest()


def key(*parts: bytes | str) -> str:
    """The key of a result computed from ``parts`` by this code."""
    digest = hashlib.sha256(code())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


def read(kind: str, name: str) -> Any:
    """What ``write`` kept under ``kind/name``, or None."""
    where = folder()
    if where is None:
        return None
    entry = where / kind / f"{name}.json"
    try:
        found = json.loads(entry.read_text())
    except (OSError, ValueError):
        return None
    with contextlib.suppress(OSError):  # a read-only cache still serves
        os.utime(entry)  # used now: the last to go when the kind is trimmed
    return found


def write(kind: str, name: str, data: Any) -> None:
    where = folder()
    if where is None:
        return
    try:
        (where / kind).mkdir(parents=True, exist_ok=True)
        _trimmed(where / kind)
        files.write_json(where / kind / f"{name}.json", data)
    except OSError:  # a read-only home, a full disk: the next run computes it again
        pass


@functools.cache
def _trimmed(place: Path) -> None:
    """Once per process and folder: past LIMIT entries, all but the KEEP most recently used go, and
    so does any temporary file older than STALE_S. Best effort: what cannot be listed or removed
    stays, and the write goes ahead."""
    try:
        with os.scandir(place) as found:
            listed = [e for e in found if e.is_file(follow_symlinks=False)]
    except OSError:
        return
    entries = [e for e in listed if e.name.endswith(".json")]
    for leftover in (e for e in listed if files.is_temporary(e.name)):
        with contextlib.suppress(OSError):
            if time.time() - leftover.stat(follow_symlinks=False).st_mtime > STALE_S:
                os.unlink(leftover.path)
    if len(entries) <= LIMIT:
        return
    used: list[tuple[float, str]] = []
    for entry in entries:
        with contextlib.suppress(OSError):  # gone meanwhile: another process trimmed it
            used.append((entry.stat(follow_symlinks=False).st_mtime, entry.path))
    excess = len(used) - KEEP  # counted again: what others removed meanwhile is not removed twice over
    for _, path in sorted(used)[: max(excess, 0)]:
        with contextlib.suppress(OSError):
            Path(path).unlink(missing_ok=True)


code()
