"""Workload registry: names to plain top-level task functions.

Standard library only: the measuring core imports this module in every cell.
A shared YAML names a workload, never an import path; names resolve here, to a
built-in or to an entry point that an installed package registered in the group
``concurrency_lab.workloads`` (see docs/architecture.md). A function typed on the
command line (``workload.function=MODULE:FUNCTION``, refused from a shared file by
runner/sweep/trust.py) becomes a cell's workload under that "MODULE:FUNCTION" as its
name; the cell resolves a spec's name with ``target``.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable
from typing import Any

ENTRY_POINT_GROUP = "concurrency_lab.workloads"

# name -> "module:function"; the coroutine form, where a workload has one, is the
# same module's function named ``<function>_async``.
BUILTINS: dict[str, str] = {
    name: f"workloads.{name}:run"
    for name in (
        "cpu",
        "sleep",
        "io",
        "gil_release",
        "mixed",
        "tiny",
        "counter",
        "bounded",
        "threadlocal",
        "payload",
        "ipc",
        "nested",
        "fault",
        "convoy",
        "matmul",
    )
}
# a module named http would shadow the standard library's for its own server script
BUILTINS["http"] = "workloads.web:run"


class UnknownWorkload(LookupError):
    """A workload name that is neither built in nor registered by an installed package."""


def installed() -> dict[str, str]:
    """Workloads registered by installed packages, name -> "module:function"."""
    # imported here: importlib.metadata and the email parser it brings cost every cell 15 ms
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available() -> dict[str, str]:
    """Every workload name a config may use; built-ins win over entry points."""
    return {**installed(), **BUILTINS}


def reference(name: str) -> str:
    """The "module:function" a workload name stands for."""
    if name in BUILTINS:  # found without reading every installed package's metadata (10 ms, several times a cell)
        return BUILTINS[name]
    try:
        return installed()[name]
    except KeyError:
        names = ", ".join(sorted(available()))
        raise UnknownWorkload(f"unknown workload {name!r}; available: {names}") from None


# a dotted module path and a top-level name in it
FUNCTION = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")


def is_function(name: str) -> bool:
    """Whether a spec's workload name is a function typed on the command line ("MODULE:FUNCTION")."""
    return FUNCTION.fullmatch(name) is not None


def target(name: str) -> str:
    """The "module:function" of a validated spec's workload name: a registered name, or a function
    given on the command line, importable from the current directory as from ``python -m``."""
    if not is_function(name):
        return reference(name)
    here = os.getcwd()
    # `python -P`, PYTHONSAFEPATH and the console script leave it out; workers started after
    # this (spawn, forkserver) are given this process's sys.path
    if here not in sys.path:
        sys.path.insert(0, here)
    return name


def load(ref: str) -> Callable[..., Any]:
    """Import a "module:function" reference that came from this registry."""
    module, _, attr = ref.partition(":")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), attr)
    return fn


def companion(ref: str, name: str) -> Callable[..., Any] | None:
    """An optional function beside the task function in its module, or None.

    The lab looks for six: ``<function>_async`` (the coroutine form, for the asyncio
    executor), ``serve(**params)`` (a context manager the cell enters around all its
    repetitions, such as a server; the keyword arguments it yields travel with every
    task), ``setup(**params)`` (called in the cell before each repetition's pool
    starts, to reset shared state), ``summarize(values, **params)`` (called after
    each repetition with the tasks' return values, None for a failed task; returns
    the workload's own figures, which become columns of results.csv) and
    ``arguments(**params)`` (called once in the cell; the keyword arguments it returns
    travel with every task, so executors that copy arguments pay for them) and
    ``missing(**params)`` (what the cell would need that is not installed, as one line,
    or None; the sweep asks before its first cell).
    """
    module, _, attr = ref.partition(":")
    fn: Callable[..., Any] | None = getattr(importlib.import_module(module), name.format(function=attr), None)
    return fn


def size_parameter(ref: str) -> str | None:
    """The parameter that ``calibrate=true`` scales: the module's ``SIZE``, if it declares one.

    Task cost must grow in proportion to it (loop count, seconds, bytes).
    """
    size: str | None = getattr(importlib.import_module(ref.partition(":")[0]), "SIZE", None)
    return size


def coroutine_form(ref: str) -> Callable[..., Any] | None:
    """The workload's coroutine form, for the asyncio executor, or None."""
    return companion(ref, "{function}_async")
