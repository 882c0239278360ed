"""Large arguments and results: what sharing no memory costs (CLAIMS #2, #4).

Every task receives ``kib`` KiB and returns them. Threads pass a reference both
ways; process-based executors pickle the argument into the worker and the result
back out, and pay for it with the size.
"""

from collections.abc import Sequence
from typing import Any

# what calibrate=true scales: task cost grows in proportion to it
SIZE = "kib"


def arguments(kib: int = 1024) -> dict[str, Any]:
    """The payload, made once in the cell and sent with every task."""
    return {"data": bytes(kib * 1024)}


def run(i: int, kib: int = 1024, data: bytes = b"") -> bytes:
    if len(data) != kib * 1024:
        raise ValueError(f"payload of {len(data)} bytes arrived; expected {kib} KiB")
    return data


def summarize(values: Sequence[bytes | None], kib: int = 1024) -> dict[str, int]:
    """Bytes of arguments and results: what a process-based executor copies, and threads do not."""
    return {"payload_bytes": sum(kib * 1024 + len(v) for v in values if v is not None)}
