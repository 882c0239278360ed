"""The http workload: real servers on 127.0.0.1, real clients, and no server outliving its cell."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from runner.files import write_json
from runner.paths import PROJECT_ROOT
from runner.sweep.launch import run_cell
from tests.conftest import cell_spec, lab, sweep
from workloads import web

GONE_WITHIN_S = 10.0


def server_pids() -> set[int]:
    """Live processes running this checkout's server script."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(web.SERVER_SCRIPT).encode() in cmdline and state != "Z":
            found.add(int(entry.name))
    return found


def listening(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket ``pid`` listens on, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                address, port = fields[1].split(":")
                found.add((address, int(port, 16)))
    return found


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def wait_until_gone(pids: set[int]) -> set[int]:
    deadline = time.monotonic() + GONE_WITHIN_S
    while (left := pids & server_pids()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.mark.parametrize("server", ["waitress", "uvicorn"])
def test_serve_answers_on_loopback_only_and_stops_its_server_even_when_the_cell_fails(server: str) -> None:
    before = server_pids()
    with (
        pytest.raises(RuntimeError, match="a repetition broke"),
        web.serve(server=server, latency_ms=1.0, response_kib=2) as served,
    ):
        (pid,) = server_pids() - before
        port = int(served["url"].rsplit(":", 1)[1].strip("/"))
        assert served["url"] == f"http://127.0.0.1:{port}/"
        # 0100007F is 127.0.0.1: the server listens on loopback and nowhere else
        assert listening(pid) == {("0100007F", port)}
        with urllib.request.urlopen(served["url"], timeout=10) as reply:
            assert reply.status == 200 and len(reply.read()) == 2048
        raise RuntimeError("a repetition broke")
    assert not wait_until_gone({pid})
    assert refused(port)


def http_cell(executor: str, workers: int, tasks: int, **params: Any) -> dict[str, Any]:
    workload = {"name": "http", "tasks": tasks, "params": {"latency_ms": 20.0, **params}, "fail_rate": 0.0}
    start_method = "fork" if executor == "process" else ""
    return cell_spec(
        workload=workload,
        executor={"name": executor, "options": {}},
        start_method=start_method,
        workers=workers,
        repeats=1,
        warmup=0,
    )


def figures(spec: dict[str, Any], workdir: Path) -> dict[str, float]:
    before = server_pids()
    result = run_cell(spec, workdir)
    assert result["status"] == "ok", result["message"]
    assert server_pids() <= before
    metrics: dict[str, float] = result["reps"][-1]["metrics"]
    return metrics


@pytest.mark.parametrize("client", ["requests", "session", "httpx"])
def test_threads_overlap_real_requests_with_each_synchronous_client(tmp_path: Path, client: str) -> None:
    got = figures(http_cell("thread", 3, 6, requests=2, client=client), tmp_path)
    assert got["requests_ok"] == 12 and got["request_errors"] == 0
    assert got["p50_ms"] >= 20.0  # the server's latency is a floor
    assert got["peak_in_flight"] >= 2 and got["server_peak"] >= 2  # waiting overlapped, on both sides
    assert got["server_limited"] == 0
    assert got["kb_per_in_flight"] > 0  # the threads ran in the cell's process


@pytest.mark.parametrize("async_client", ["httpx", "aiohttp"])
def test_a_sync_server_on_two_threads_holds_two_requests_and_the_cell_says_it_set_the_pace(
    tmp_path: Path, async_client: str
) -> None:
    spec = http_cell(
        "asyncio", 6, 6, requests=1, latency_ms=50.0, async_client=async_client, server="waitress", server_threads=2
    )
    got = figures(spec, tmp_path)
    assert got["requests_ok"] == 6 and got["request_errors"] == 0
    assert got["peak_in_flight"] >= 3  # the client had more in flight than the server held
    assert got["server_peak"] == 2
    assert got["server_limited"] == 1
    assert got["p99_ms"] >= 100.0  # six requests through two threads: the last waits two rounds


def test_processes_each_bring_a_client_and_memory_per_request_is_not_claimed(tmp_path: Path) -> None:
    got = figures(http_cell("process", 2, 4, requests=2, server="waitress", server_threads=4), tmp_path)
    assert got["requests_ok"] == 8 and got["request_errors"] == 0
    # the requests' memory is in the worker processes, not in the cell that summarizes
    assert "kb_per_in_flight" not in got


def _first_server(before: set[int], found: list[tuple[int, int]], stop: threading.Event) -> None:
    while not stop.is_set() and not found:
        for pid in server_pids() - before:
            ports = listening(pid)
            if ports:
                found.append((pid, next(iter(ports))[1]))
        time.sleep(0.05)


def hung_spec(timeout_s: float) -> dict[str, Any]:
    """A thread cell whose requests wait a minute for their answer."""
    spec = http_cell("thread", 2, 2, requests=1, latency_ms=60_000.0)
    spec["timeout_s"] = timeout_s
    return spec


def test_a_cell_killed_at_its_timeout_leaves_no_server_and_no_port(tmp_path: Path) -> None:
    before, found, stop = server_pids(), [], threading.Event()
    watcher = threading.Thread(target=_first_server, args=(before, found, stop))
    watcher.start()
    try:
        result = run_cell(hung_spec(timeout_s=6.0), tmp_path)
    finally:
        stop.set()
        watcher.join()
    assert result["status"] == "timeout"
    assert found, "the cell started its server before it hung"
    pid, port = found[0]
    assert not wait_until_gone({pid})
    assert refused(port)


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGKILL])
def test_ctrl_c_or_a_kill_of_the_cell_alone_takes_its_server_with_it(tmp_path: Path, sent: signal.Signals) -> None:
    """Ctrl-C in a terminal signals the cell's whole process group: the server drops the
    requests it holds and exits, the cell unwinds through ``serve``. SIGKILL to the cell
    alone (not its group, as the sweep would) leaves an orphan that must exit by itself.
    """
    write_json(tmp_path / "spec.json", hung_spec(timeout_s=60.0))
    before = server_pids()
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    cell = subprocess.Popen(
        [sys.executable, "-m", "runner.core.cell", str(tmp_path / "spec.json"), str(tmp_path / "result.json")],
        env=env,
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not (started := server_pids() - before) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started, "the cell started its server"
        time.sleep(1.0)  # the tasks are now waiting on their requests
        if sent == signal.SIGINT:
            os.killpg(cell.pid, sent)
        else:
            cell.send_signal(sent)
        assert not wait_until_gone(started)
        cell.wait(timeout=GONE_WITHIN_S)
    finally:
        if cell.poll() is None:
            os.killpg(cell.pid, signal.SIGKILL)
            cell.wait()


def test_an_unknown_client_is_one_line_before_any_cell(tmp_path: Path) -> None:
    proc = lab("workload=http", "workload.params.client=curl", f"hydra.run.dir={tmp_path}", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: workload.params.client: 'curl' is not a choice")
    assert "allowed: requests, session, httpx" in proc.stderr and "Traceback" not in proc.stderr


def test_a_missing_web_extra_is_one_line_before_any_cell(tmp_path: Path) -> None:
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    # as if aiohttp were not installed: find_spec answers None for a name mapped to None
    (hidden / "sitecustomize.py").write_text("import sys\nsys.modules['aiohttp'] = None\n")
    root = tmp_path / "sweep"
    proc = lab("-m", "+experiment=web_client", f"hydra.sweep.dir={root}", cwd=tmp_path, path=(hidden,))
    assert proc.returncode == 2
    assert proc.stderr.startswith(
        "error: workload.params.async_client: 'aiohttp' needs aiohttp, which is not installed; "
        "allowed: pip install 'concurrency-lab[web]'"
    )
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (root / "cells").exists()


@pytest.mark.slow
def test_the_web_server_experiment_sweeps_both_servers_and_judges_its_claims(tmp_path: Path) -> None:
    root, proc = sweep(
        tmp_path,
        "+experiment=web_server",
        "workers=16",
        "workload.tasks=16",
        "repeats=1",
        "workload.params.latency_ms=20",
    )
    results = pd.read_csv(root / "results.csv")
    cells = results[results.executor == "asyncio"].set_index("workload.server")
    assert set(cells.index) == {"waitress", "uvicorn"}
    assert (results.request_errors == 0).all() and (results.requests_ok == 16).all()
    # waitress's 8 threads cap what it holds, and the cell says the server set the pace
    assert cells.loc["waitress", "server_peak"] == 8 and cells.loc["waitress", "server_limited"] == 1
    assert cells.loc["uvicorn", "server_peak"] > 8
    assert "holds" in proc.stdout and "fails" not in proc.stdout
    assert not server_pids(), "no server outlives the sweep"
