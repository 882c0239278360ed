"""The convoy effect (Beazley): short IO-style requests stuck behind CPU-bound threads.

Each task starts ``busy`` threads that spin in pure Python, then makes ``requests``
round trips to an echo server in another process (over TCP on 127.0.0.1) that
answers after ``reply_delay`` seconds, as a real service thinks before it replies,
and returns the requests per second it got. While a request waits for its reply the
GIL goes to a spinning thread (without the delay a loopback reply can land before
that thread wakes, and the effect comes and goes with the scheduler); taking it back when the reply lands means waiting
until that thread is made to drop it, up to ``sys.getswitchinterval()`` (5 ms by
default). So one busy thread cuts the rate by orders of magnitude, and
``switch_interval=0.0001`` wins much of it back. Run it under ``executor=serial``:
the threads that matter are the task's own. The echo server is another process so
that it needs no GIL of this one; each worker process starts one, once.
"""

import atexit
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from functools import cache
from typing import Any

# what calibrate=true scales: task cost grows in proportion to it
SIZE = "requests"
ECHO_SERVER = """
import socket, sys, time
delay = float(sys.argv[1])
server = socket.create_server(("127.0.0.1", 0))
print(server.getsockname()[1], flush=True)
while True:
    conn, _ = server.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while data := conn.recv(65536):
        time.sleep(delay)
        conn.sendall(data)
    conn.close()
"""


@cache
def _echo_port(reply_delay: float) -> int:
    server = subprocess.Popen([sys.executable, "-c", ECHO_SERVER, str(reply_delay)], stdout=subprocess.PIPE, text=True)
    atexit.register(server.kill)
    assert server.stdout is not None
    return int(server.stdout.readline())


def _spin(stop: threading.Event) -> None:
    while not stop.is_set():
        for _ in range(1000):
            pass


def run(i: int, busy: int = 1, requests: int = 100, reply_delay: float = 0.0002) -> float:
    """Requests per second to the echo server while ``busy`` threads spin."""
    connection = socket.create_connection(("127.0.0.1", _echo_port(reply_delay)))
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    stop = threading.Event()
    spinners = [threading.Thread(target=_spin, args=(stop,), daemon=True) for _ in range(busy)]
    for thread in spinners:
        thread.start()
    try:
        start = time.perf_counter()
        for _ in range(requests):
            connection.sendall(b"?")
            connection.recv(1)
        elapsed = time.perf_counter() - start
    finally:
        stop.set()
        for thread in spinners:
            thread.join()
        connection.close()
    return requests / elapsed


def summarize(values: Sequence[float | None], **params: Any) -> dict[str, float]:
    rates = [v for v in values if v is not None]
    return {"requests_per_s": statistics.median(rates) if rates else float("nan")}
