"""The server of the ``http`` workload, run as a script in a process of its own.

``python web_server.py SERVER THREADS LATENCY_MS RESPONSE_KIB`` listens on an ephemeral
port of 127.0.0.1, prints the port once it can serve, and answers ``GET /`` after
``LATENCY_MS`` with ``RESPONSE_KIB`` KiB, as a service that thinks before it replies:
a Flask app on waitress (``THREADS`` threads, each holding a request while it sleeps)
or an ASGI app on uvicorn (one event loop, ``await asyncio.sleep``). ``GET /_stats``
returns and resets the most requests it held at once, with its CPU time, so that the
cell can tell when the server, not the client, limited throughput.

A process of its own, so that its GIL is not the cell's. It exits when the cell
that started it is gone, even one killed without a chance to stop it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

PARENT_POLL_S = 0.5


class Gauge:
    """Requests inside the handler now, and the most at once since the last reset."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1

    def stats(self) -> bytes:
        with self.lock:
            peak, self.peak = self.peak, self.now
        return json.dumps({"peak": peak, "cpu_s": time.process_time()}).encode()


def flask_app(gauge: Gauge, latency_s: float, body: bytes) -> Any:
    from flask import Flask, Response

    app = Flask("http_workload")

    @app.get("/")
    def index() -> Response:
        gauge.enter()
        try:
            time.sleep(latency_s)
            return Response(body, mimetype="application/octet-stream")
        finally:
            gauge.leave()

    @app.get("/_stats")
    def stats() -> Response:
        return Response(gauge.stats(), mimetype="application/json")

    return app


Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def asgi_app(gauge: Gauge, latency_s: float, body: bytes) -> Callable[[dict[str, Any], Receive, Send], Awaitable[None]]:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["path"] == "/_stats":
            payload, kind = gauge.stats(), b"application/json"
        else:
            gauge.enter()
            try:
                await asyncio.sleep(latency_s)
            finally:
                gauge.leave()
            payload, kind = body, b"application/octet-stream"
        headers = [(b"content-type", kind), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    return app


def _exit_with(parent: int) -> None:
    # A cell killed with SIGKILL cannot stop its server; the server notices it is orphaned.
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(0)


def main(argv: list[str]) -> None:
    server, threads, latency_ms, response_kib = argv[1], int(argv[2]), float(argv[3]), int(argv[4])
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True).start()
    gauge, latency_s, body = Gauge(), latency_ms / 1000, b"x" * (response_kib * 1024)
    listener = socket.create_server(("127.0.0.1", 0), backlog=4096)
    # uvicorn writes a response's head and body apart; with Nagle's algorithm the body waits
    # for the client's delayed ACK, 40 ms on Linux. Accepted sockets inherit the option.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    port = listener.getsockname()[1]
    if server == "waitress":
        import waitress.server

        # waitress warns on every queued request: that queue is what the cell measures
        logging.getLogger("waitress").setLevel(logging.ERROR)
        app = waitress.server.create_server(
            flask_app(gauge, latency_s, body),
            sockets=[listener],
            threads=threads,
            connection_limit=4096,
            backlog=4096,
        )
        print(port, flush=True)
        app.run()
    else:
        import uvicorn

        config = uvicorn.Config(
            asgi_app(gauge, latency_s, body),
            log_level="error",
            lifespan="off",
            access_log=False,
            backlog=4096,
            # Ctrl-C or the cell's terminate: requests still sleeping are dropped, not awaited
            timeout_graceful_shutdown=1,
        )
        uvicorn_server = uvicorn.Server(config)
        print(port, flush=True)
        uvicorn_server.run(sockets=[listener])


if __name__ == "__main__":
    main(sys.argv)
