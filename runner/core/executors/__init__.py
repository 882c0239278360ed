"""The executor registry: one line per executor, each a module of its own beside this file.

Standard library only (measuring core). ``base.py`` is the interface every executor implements;
an entry names its module's start function (and refusal) as "module:function", imported only
when a cell uses it, so a cell (and a spawned worker) pays for no other executor, and dask's
packages are imported only for ``executor=dask``. The registry's order is the figures' order
(runner/report/plots/common.py: an executor keeps its colour from one sweep to the next), and an
entry's ``options`` are its config schema (runner/sweep/config.py). Adding an executor: a module
here with ``start_NAME(workers, start_method, options) -> Pool``, one line below, and
``conf/executor/NAME.yaml``.
"""

from __future__ import annotations

from dataclasses import replace

from runner.core.executors.base import Bound, BrokenPool, Executor, Option, Pool

__all__ = ["EXECUTORS", "Bound", "BrokenPool", "Executor", "Pool"]


def _registry(*entries: Executor) -> dict[str, Executor]:
    names = [e.name for e in entries]
    return {e.name: replace(e, others=tuple(n for n in names if n != e.name)) for e in entries}


EXECUTORS: dict[str, Executor] = _registry(
    Executor("serial", "serial:start_serial", uses_start_method=False, uses_workers=False),
    Executor("thread", "thread:start_thread", uses_start_method=False),
    Executor("process", "process:start_process", uses_start_method=True),
    Executor("asyncio", "aio:start_asyncio", uses_start_method=False, refuses_ref="aio:refuses"),
    Executor("mp_pool", "process:start_mp_pool", uses_start_method=True),
    Executor("process_per_task", "per_task:start_process_per_task", uses_start_method=True),
    Executor(
        "dask",
        "dask:start_dask",
        uses_start_method=True,
        refuses_ref="dask:refuses",
        # address: a running cluster (tcp://HOST:8786); unset starts an embedded LocalCluster in the cell
        options=(Option("address", str | None, None), Option("threads_per_worker", int, 1)),
    ),
    Executor(
        "interpreter",
        "subinterpreters:start_interpreter",
        uses_start_method=False,
        refuses_ref="subinterpreters:refuses",
    ),
    Executor("thread_per_task", "per_task:start_thread_per_task", uses_start_method=False),
)
