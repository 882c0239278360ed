"""Message passing through a multiprocessing Queue or Pipe (CLAIMS #4, #15).

In each task a producer thread sends ``messages`` messages of ``kib`` KiB through a
fresh ``multiprocessing.Queue`` or ``Pipe`` to the task's own thread, which receives
them all. Both ends live in the worker, so the figure is the channel itself (pickling,
the operating system's pipe, and for Queue its feeder thread and lock), not the start
of a process per task. ``summarize`` reports the bytes moved and the channel's rate.
"""

import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

# what calibrate=true scales: task cost grows in proportion to it
SIZE = "messages"

Send = Callable[[bytes], None]
Receive = Callable[[], bytes]


def _produce(send: Send, message: bytes, messages: int) -> None:
    for _ in range(messages):
        send(message)


def _through(send: Send, receive: Receive, message: bytes, messages: int) -> int:
    producer = threading.Thread(target=_produce, args=(send, message, messages), name="ipc-producer")
    producer.start()
    moved = 0
    for _ in range(messages):
        moved += len(receive())
    producer.join()
    return moved


def run(i: int, channel: Literal["queue", "pipe"] = "queue", kib: int = 64, messages: int = 200) -> list[float]:
    """Move the messages; returns [bytes received, seconds it took]."""
    message = bytes(kib * 1024)
    start = time.perf_counter()
    if channel == "queue":
        queue: multiprocessing.Queue[bytes] = multiprocessing.Queue()
        try:
            moved = _through(queue.put, queue.get, message, messages)
        finally:
            queue.close()
            queue.join_thread()
    elif channel == "pipe":
        receiver, sender = multiprocessing.Pipe(duplex=False)
        try:
            moved = _through(sender.send, receiver.recv, message, messages)
        finally:
            sender.close()
            receiver.close()
    else:
        raise ValueError(f"channel {channel!r}: expected queue or pipe")
    return [moved, time.perf_counter() - start]


def summarize(values: Sequence[list[float] | None], **params: Any) -> dict[str, float]:
    done = [v for v in values if v is not None]
    moved, seconds = sum(v[0] for v in done), sum(v[1] for v in done)
    return {"bytes_moved": int(moved), "channel_mb_s": moved / seconds / 1e6 if seconds else 0.0}
