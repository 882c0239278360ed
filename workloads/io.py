"""Real file IO: each task writes files under a fresh temporary directory and reads them back.

The directory is made under the system's temporary directory (``TMPDIR``). With
``fsync`` on, every write waits for the device, as a database commit does; while a
thread waits in ``write``, ``fsync`` or ``read`` it does not hold the GIL.
"""

import asyncio
import os
import tempfile
from functools import cache

# what calibrate=true scales: task cost grows in proportion to it
SIZE = "files"


@cache
def _block(kib: int) -> bytes:
    return os.urandom(kib * 1024)


def run(i: int, kib: int = 256, files: int = 8, fsync: bool = True) -> int:
    """Write ``files`` files of ``kib`` KiB, read each back and check it; returns bytes moved."""
    block = _block(kib)
    with tempfile.TemporaryDirectory(prefix=f"lab-io-{i}-") as tmp:
        for k in range(files):
            path = os.path.join(tmp, f"{k}.bin")
            with open(path, "wb") as out:
                out.write(block)
                out.flush()
                if fsync:
                    os.fsync(out.fileno())
            with open(path, "rb") as back:
                if back.read() != block:
                    raise OSError(f"{path}: read back differs from what was written")
    return 2 * len(block) * files


async def run_async(i: int, kib: int = 256, files: int = 8, fsync: bool = True) -> int:
    """asyncio has no asynchronous files: the loop hands the IO to a thread, as aiofiles does."""
    return await asyncio.to_thread(run, i, kib, files, fsync)
