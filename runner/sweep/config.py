"""Structured configs: Hydra type-checks every value against these before a cell runs.

Registered in Hydra's ConfigStore as the schemas that ``conf/`` YAML files extend.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field, fields, make_dataclass
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from runner.core.executors import EXECUTORS, Executor
from runner.core.native import usable_cpus as cores
from runner.sweep import spec
from runner.sweep.launch import MAX_PROCS


@dataclass
class WorkloadConf:
    name: str = MISSING
    # "MODULE:FUNCTION", a function of yours measured without packaging; command line only (trust.py)
    function: str | None = None
    tasks: int = 64
    params: dict[str, Any] = field(default_factory=dict)
    # fraction of tasks that raise, chosen deterministically from ``seed``
    fail_rate: float = 0.0


@dataclass
class ExecutorConf:
    name: str = MISSING


def _executor_schema(executor: Executor) -> type[ExecutorConf]:
    """An executor's own options (its registry entry's) as a structured config extending ExecutorConf."""
    fields_ = [(o.name, o.type, field(default=o.default)) for o in executor.options]
    return make_dataclass(f"{executor.name.title().replace('_', '')}ExecutorConf", fields_, bases=(ExecutorConf,))


# the schema of each executor with options of its own; its YAML extends /base_NAME@_here_ (dask: base_dask)
EXECUTOR_SCHEMAS: dict[str, type[ExecutorConf]] = {
    name: _executor_schema(executor) for name, executor in EXECUTORS.items() if executor.options
}


@dataclass
class ExpectConf:
    """A claim the report checks against the summary (runner/claims/expression.py says what the strings may hold)."""

    claim: str = MISSING
    # selects summary rows (cells); the default selects every measured cell
    where: str = "True"
    # must hold for every selected cell
    check: str = MISSING


@dataclass
class Config:
    workload: WorkloadConf = MISSING
    executor: ExecutorConf = MISSING
    start_method: str = "fork"
    workers: int = 4
    repeats: int = 3
    warmup: int = 1
    seed: int = 0
    timeout_s: float = 600.0
    # interleaved passes over the whole grid; ``round`` is swept outermost
    rounds: int = 1
    round: int = 0
    # measure only the cells a directory lacks (or that failed); false refuses a used directory
    resume: bool = True
    # scale the workload's size parameter so a serial repetition lasts about target_s
    calibrate: bool = False
    target_s: float = 0.2
    # the interpreter that runs each cell: empty for this one, a version (3.12, 3.13t) or a path
    python: str = ""
    # PYTHON_GIL for a free-threaded build: 0 off, 1 on; unset leaves the build's default
    gil: int | None = None
    # sys.setswitchinterval in the cell and its workers (seconds); unset keeps 0.005
    switch_interval: float | None = None
    # CPU seconds of the workload run serially before each repetition (the probes that,
    # all along the sweep, give the serial reference); 0 divides by the baseline alone
    pair_s: float = 0.05
    # keep adding repetitions until the speedup's 95% CI is within +-precision (0.05: 5%)
    precision: float | None = None
    # ...or until a cell has spent budget_s seconds or max_repeats repetitions on it
    budget_s: float = 60.0
    max_repeats: int = 100
    # native pools (BLAS, OpenMP) per worker: an integer, or auto (the CPUs shared among the
    # tasks in flight); unset leaves them at their libraries' defaults
    native_threads: str | None = None
    # what a cell may use, summed over its processes: memory (MB; unset: half of this
    # machine's) and processes; over either, it is killed with status oom or nproc
    memory_mb: float | None = None
    max_procs: int = MAX_PROCS
    # what the report checks; an experiment declares the seed's claims here
    expect: list[ExpectConf] = field(default_factory=list)
    # draw the report when the sweep ends; false leaves it to `python -m runner.report DIR`
    # (a large sweep, a script that reads only the CSVs)
    report: bool = True


def doubling(factor: int = 2) -> str:
    """Worker counts 1, 2, 4, ... up to ``factor`` x the cores here, as a sweep ("1,2,4").

    Resolved on the machine that runs the sweep, so a shared experiment scales to it.
    The cap itself ends the list when it is not a power of two.
    """
    cap = max(1, factor * cores())
    counts = [2**k for k in range(cap.bit_length()) if 2**k <= cap]
    if counts[-1] != cap:
        counts.append(cap)
    return ",".join(map(str, counts))


def register() -> None:
    # ${lab.doubling:} in a config, e.g. a sweep's workers: the scaling experiment uses it
    OmegaConf.register_new_resolver("lab.doubling", doubling, replace=True)
    store = ConfigStore.instance()
    # Outside the workload and executor groups, so that the options a user can choose (what
    # --help and tab completion list) are only real ones; a YAML in those groups extends its
    # schema by absolute path: ``- /base_workload@_here_``.
    store.store(name="base_config", node=Config)
    store.store(name="base_workload", node=WorkloadConf)
    store.store(name="base_executor", node=ExecutorConf)
    for name, schema in EXECUTOR_SCHEMAS.items():
        store.store(name=f"base_{name}", node=schema)


def key_paths(node: dict[str, Any], prefix: str = "") -> list[str]:
    """Every key of a plain config as a dotted path (``workload``, ``workload.params.n``), lists as leaves."""
    paths = []
    for key, value in node.items():
        path = f"{prefix}{key}"
        paths.append(path)
        if isinstance(value, dict):
            paths += key_paths(value, f"{path}.")
    return paths


def unknown_key(cfg: dict[str, Any]) -> str | None:
    """The first key that a ``+key=value`` override added beyond the schemas, as an error.

    Hydra's append override bypasses the structured config's closed key set, so the
    lab checks it itself; only ``workload.params`` is open (a workload's own keywords).
    """
    executor = cfg.get("executor") or {}
    for prefix, schema, node in (
        ("", Config, cfg),
        ("workload.", WorkloadConf, cfg.get("workload") or {}),
        ("executor.", EXECUTOR_SCHEMAS.get(str(executor.get("name")), ExecutorConf), executor),
    ):
        allowed = [f.name for f in fields(schema)]
        for key in node:
            if key not in allowed:
                bad = f"{prefix}{key}"
                return spec.unknown(bad, [p for p in key_paths(cfg) if p != bad and not p.startswith(f"{bad}.")])
    return None


# a value's type in the words of an error ("'two' is not an integer")
_NOUNS: dict[Any, str] = {
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    str: "a string",
    list: "a list",
    dict: "a mapping",
}


def wrong_type(schema: type, key: str, full_key: str, value: str) -> str:
    """The error for a value that a structured config's field cannot hold: its key, what it is
    not, and what is allowed (the range spec checks, where it has one)."""
    hint = typing.get_type_hints(schema)[key]
    optional = type(None) in typing.get_args(hint)
    if optional:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    kind = typing.get_origin(hint) or hint
    noun = _NOUNS.get(kind, f"a {getattr(kind, '__name__', kind)}")
    ranged = spec.RANGES.get(full_key)
    allowed = ranged.words() if ranged else "true or false" if kind is bool else noun
    if optional:
        allowed += ", or null (unset)"
    return f"{full_key}: {value!r} is not {noun}; allowed: {allowed}"
