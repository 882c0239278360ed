"""C code that releases the GIL: hashing or compressing a large buffer (CLAIMS #10).

hashlib and zlib let go of the GIL while they work on a buffer of more than a few
KiB, so threads running these tasks use as many cores as there are.
"""

import hashlib
import zlib
from functools import cache
from typing import Literal

# what calibrate=true scales: task cost grows in proportion to it
SIZE = "rounds"


@cache
def _buffer(kib: int) -> bytes:
    # built once per worker, outside the timed work of every task after the first
    return bytes(kib * 1024)


def run(i: int, kib: int = 8192, rounds: int = 2, algorithm: Literal["sha256", "zlib"] = "sha256") -> int:
    """Hash (sha256) or compress (zlib, level 1) ``kib`` KiB ``rounds`` times; returns bytes processed."""
    data = _buffer(kib)
    for _ in range(rounds):
        if algorithm == "sha256":
            hashlib.sha256(data).digest()
        elif algorithm == "zlib":
            zlib.compress(data, 1)
        else:
            raise ValueError(f"algorithm {algorithm!r}: expected sha256 or zlib")
    return len(data) * rounds
