"""From a resolved config (a plain dict) to a validated cell spec, and its identity.

Standard library only: the spec is what crosses into the measuring core as JSON.
Validation here is what Hydra's types cannot say (ranges, registries, the
platform); every failure names the key and what is allowed, in one line.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import inspect
import json
import multiprocessing
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

import workloads
from runner import files
from runner.core import native
from runner.core.executors import EXECUTORS
from runner.sweep import pythons as interpreters

MISSING = "???"  # how a resolved config shows a value nobody set (OmegaConf's MISSING)
MAX_WORKERS = 1024
# Keys of the spec that say *what* is measured; the rest (timeouts) say how to run it.
IDENTITY_KEYS = (
    "workload", "executor", "start_method", "workers", "repeats", "warmup", "seed", "python", "gil", "switch_interval",
)  # fmt: skip
# Part of what is measured only when set: cells measured before they existed keep their ids.
OPTIONAL_IDENTITY_KEYS = ("precision", "budget_s", "max_repeats", "native_threads")
FUNCTION_HELP = "a module of the current directory or an installed package, and its function: my_module:my_function"


class SpecError(ValueError):
    """Invalid input, phrased for the user: the key, the value, what is allowed."""


@dataclass(frozen=True)
class Range:
    """What a numeric key allows, in the words of every error about it: out of range here,
    of the wrong type where Hydra refuses it (``cli.one_line``)."""

    kind: type[int] | type[float]
    low: float
    high: float | None = None
    # the bound itself is out: timeout_s=0 is not a timeout
    open: bool = False
    note: str = ""

    def holds(self, value: float) -> bool:
        above = value > self.low if self.open else value >= self.low
        below = self.high is None or (value < self.high if self.open else value <= self.high)
        return above and below

    def words(self) -> str:
        noun = "an integer" if self.kind is int else "a number"
        if self.high is None:
            bound = f"above {self.low}" if self.open else f"of at least {self.low}"
        else:
            bound = f"above {self.low} and below {self.high}" if self.open else f"between {self.low} and {self.high}"
        return f"{noun} {bound}" + (f" ({self.note})" if self.note else "")


_SECONDS = Range(float, 0, open=True)
RANGES: dict[str, Range] = {
    "workers": Range(int, 1, MAX_WORKERS),
    "repeats": Range(int, 1),
    "warmup": Range(int, 0),
    "rounds": Range(int, 1),
    "max_repeats": Range(int, 1),
    "max_procs": Range(int, 1),
    "workload.tasks": Range(int, 1),
    "workload.fail_rate": Range(float, 0, 1),
    "timeout_s": _SECONDS,
    "target_s": _SECONDS,
    "budget_s": _SECONDS,
    "switch_interval": _SECONDS,
    "memory_mb": _SECONDS,
    "precision": Range(float, 0, 1, open=True, note="0.05 is +-5%"),
    "pair_s": Range(float, 0, note="0: no probe"),
}


def in_range(key: str, value: float, low: int | None = None) -> float:
    """``value`` if RANGES[key] (its low bound raised to ``low`` where another key sets it) holds it."""
    allowed = RANGES[key] if low is None else replace(RANGES[key], low=low)
    if not allowed.holds(value):
        raise SpecError(f"{key}: {value} is out of range; allowed: {allowed.words()}")
    return value


def unknown(key: str, known: Iterable[str], problem: str = "unknown key") -> str:
    """``KEY: PROBLEM; did you mean ...?``: the known keys whose last part is closest to the key's
    (``tsks`` finds ``workload.tasks``, and so does ``tasks``); without one, the keys beside it."""
    paths = list(dict.fromkeys(known))
    by_leaf: dict[str, list[str]] = {}
    for path in paths:
        by_leaf.setdefault(path.rsplit(".", 1)[-1], []).append(path)
    close = [
        p for leaf in difflib.get_close_matches(key.rsplit(".", 1)[-1], by_leaf, cutoff=0.8) for p in by_leaf[leaf]
    ]
    parent = key.rpartition(".")[0]
    close.sort(key=lambda path: path.rpartition(".")[0] != parent)  # the keys beside it first
    if close:
        return f"{key}: {problem}; did you mean {' or '.join(close[:3])}?"
    return f"{key}: {problem}; allowed: {', '.join(p for p in paths if p.rpartition('.')[0] == parent) or 'none'}"


def _check_int(key: str, value: Any, low: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{key}: {value!r} is not an integer; allowed: {RANGES[key].words()}")
    in_range(key, value, low)
    return value


def parameters(ref: str) -> dict[str, inspect.Parameter]:
    """A workload's parameters: the keyword arguments of its task function after the task index."""
    return {p.name: p for p in list(inspect.signature(workloads.load(ref)).parameters.values())[1:]}


def _choices(fn: Callable[..., Any]) -> dict[str, tuple[Any, ...]]:
    """Parameters annotated ``Literal[...]``: the values a task function accepts."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # a plugin's annotations that do not evaluate say nothing about choices
        return {}
    return {key: typing.get_args(hint) for key, hint in hints.items() if typing.get_origin(hint) is Literal}


def _check_params(name: str, ref: str, params: dict[str, Any]) -> dict[str, Any]:
    allowed = parameters(ref)
    choices = _choices(workloads.load(ref))
    for key, value in params.items():
        if key not in allowed:
            known = [f"workload.params.{p}" for p in allowed]
            raise SpecError(unknown(f"workload.params.{key}", known, f"not a parameter of workload {name!r}"))
        if key in choices and value not in choices[key]:
            raise SpecError(
                f"workload.params.{key}: {value!r} is not a choice of workload {name!r};"
                f" allowed: {', '.join(map(str, choices[key]))}"
            )
        default = allowed[key].default
        if default is inspect.Parameter.empty or default is None:
            continue
        expected = float if isinstance(default, float) else type(default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            params[key] = float(value)
        elif not isinstance(value, expected) or isinstance(value, bool) != isinstance(default, bool):
            raise SpecError(
                f"workload.params.{key}: expected {expected.__name__} (like the default {default!r}), got {value!r}"
            )
    return params


def workload_name(workload: dict[str, Any]) -> str:
    """What a cell measures: a registered workload's name, or the function typed as
    ``workload.function`` (only the command line may set it: runner/sweep/trust.py)."""
    function, name = workload.get("function"), workload["name"]
    if function is None:
        if name == MISSING:
            names = ", ".join(sorted(workloads.available()))
            raise SpecError(
                "workload.name: missing; workload=custom needs workload.name=NAME or "
                f"workload.function=MODULE:FUNCTION; allowed: {names}"
            )
        try:
            workloads.reference(name)
        except workloads.UnknownWorkload as exc:
            raise SpecError(f"workload.name: {exc}") from None
        return str(name)
    if name != MISSING:
        raise SpecError(
            f"workload.function: {function!r} and workload.name {name!r} both say what to measure; "
            f"allowed: one of them, as in workload=custom workload.function={function}"
        )
    function = str(function)
    if not workloads.is_function(function):
        raise SpecError(f"workload.function: {function!r} is not MODULE:FUNCTION; allowed: {FUNCTION_HELP}")
    module, _, attr = function.partition(":")
    workloads.target(function)  # the current directory importable, as in the cell
    try:
        found = importlib.import_module(module)
    except Exception as exc:  # the user's module may fail to import in any way: say how, in one line
        raise SpecError(
            f"workload.function: cannot import {module!r} ({type(exc).__name__}: {exc}); allowed: {FUNCTION_HELP}"
        ) from None
    fn = getattr(found, attr, None)
    if not callable(fn):
        names = ", ".join(n for n, v in vars(found).items() if inspect.isfunction(v) and not n.startswith("_"))
        what = "has no" if fn is None else "has a non-function"
        raise SpecError(f"workload.function: module {module!r} {what} {attr!r}; allowed: its functions: {names or '-'}")
    return function


def build(cfg: dict[str, Any]) -> dict[str, Any]:
    """Validate a resolved config and return the cell spec the measuring core reads."""
    workload = cfg["workload"]
    executor_name = cfg["executor"]["name"]
    if executor_name not in EXECUTORS:
        raise SpecError(f"executor.name: unknown executor {executor_name!r}; allowed: {', '.join(EXECUTORS)}")
    executor = EXECUTORS[executor_name]
    name = workload_name(workload)
    ref = workloads.target(name)
    start_method = cfg["start_method"]
    methods = multiprocessing.get_all_start_methods()
    if start_method not in methods:
        raise SpecError(f"start_method: {start_method!r} is not available here; allowed: {', '.join(methods)}")
    fail_rate = workload["fail_rate"]
    in_range("workload.fail_rate", fail_rate)
    workers = _check_int("workers", cfg["workers"])
    try:
        python = interpreters.resolve(cfg.get("python") or "")
        interpreters.check_gil(python, cfg.get("gil"))
        refusal = interpreters.refusal(python, executor_name, name)
    except interpreters.InterpreterError as exc:
        raise SpecError(str(exc)) from None
    if refusal is not None:
        raise SpecError(f"executor: {refusal}")
    switch_interval = cfg.get("switch_interval")
    if switch_interval is not None:
        switch_interval = float(in_range("switch_interval", switch_interval))
    try:
        native_threads = native.parse(cfg.get("native_threads"))
    except ValueError as exc:
        raise SpecError(f"native_threads: {exc}") from None
    _check_int("rounds", cfg.get("rounds", 1))
    in_range("target_s", cfg.get("target_s", 1.0))
    if cfg.get("calibrate") and workloads.size_parameter(ref) is None:
        sized = ", ".join(n for n, r in workloads.available().items() if workloads.size_parameter(r))
        raise SpecError(f"calibrate: workload {name!r} has no size parameter to scale; allowed: {sized}")
    precision = cfg.get("precision")
    if precision is not None:
        in_range("precision", precision)
    pair_s = in_range("pair_s", cfg.get("pair_s", 0.0))
    params = _check_params(name, ref, dict(workload["params"]))
    missing = workloads.companion(ref, "missing")
    # another interpreter has packages of its own: its cell says what it lacks
    if missing is not None and python == interpreters.resolve(""):
        problem = missing(**params)
        if problem is not None:
            raise SpecError(problem)
    return {
        "schema": files.SPEC_SCHEMA,
        "workload": {
            "name": name,
            "tasks": _check_int("workload.tasks", workload["tasks"]),
            "params": params,
            "fail_rate": fail_rate,
        },
        "executor": {"name": executor_name, "options": {k: v for k, v in cfg["executor"].items() if k != "name"}},
        # Axes that mean nothing to an executor are blanked, so equal cells hash equal.
        "start_method": start_method if executor.uses_start_method else "",
        "workers": workers if executor.uses_workers else 1,
        "repeats": _check_int("repeats", cfg["repeats"]),
        "warmup": _check_int("warmup", cfg["warmup"]),
        "seed": cfg["seed"],
        "python": python,
        "gil": cfg.get("gil"),
        "switch_interval": switch_interval,
        "native_threads": native_threads,
        "timeout_s": float(in_range("timeout_s", cfg["timeout_s"])),
        "pair_s": float(pair_s),
        **(
            {
                "precision": float(precision),
                "budget_s": float(in_range("budget_s", cfg.get("budget_s", 60.0))),
                "max_repeats": _check_int("max_repeats", cfg.get("max_repeats", 100), cfg["repeats"]),
            }
            if precision is not None
            else {}
        ),
    }


def baseline(spec: dict[str, Any]) -> dict[str, Any]:
    """The serial cell that this cell's speedup is measured against."""
    return {**spec, "executor": {"name": "serial", "options": {}}, "start_method": "", "workers": 1}


def cell_id(spec: dict[str, Any]) -> str:
    """A stable hash of what a cell measures: equal effective configs share it."""
    identity = {key: spec[key] for key in IDENTITY_KEYS}
    identity.update({key: spec[key] for key in OPTIONAL_IDENTITY_KEYS if spec.get(key) is not None})
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]
