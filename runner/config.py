"""Structured configs: Hydra type-checks every value against these before a cell runs.

Registered in Hydra's ConfigStore as the schemas that ``conf/`` YAML files extend.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class WorkloadConf:
    name: str = MISSING
    tasks: int = 64
    params: dict[str, Any] = field(default_factory=dict)
    # fraction of tasks that raise, chosen deterministically from ``seed``
    fail_rate: float = 0.0


@dataclass
class ExecutorConf:
    name: str = MISSING


@dataclass
class ExpectConf:
    """A claim the report checks against the summary (runner/expr.py says what the strings may hold)."""

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
    # what the report checks; an experiment declares the seed's claims here
    expect: list[ExpectConf] = field(default_factory=list)


def register() -> None:
    store = ConfigStore.instance()
    store.store(name="base_config", node=Config)
    store.store(group="workload", name="base_workload", node=WorkloadConf)
    store.store(group="executor", name="base_executor", node=ExecutorConf)


def unknown_keys(cfg: dict[str, Any]) -> list[str]:
    """Keys that a ``+key=value`` override added beyond the schemas.

    Hydra's append override bypasses the structured config's closed key set, so the
    lab checks it itself; only ``workload.params`` is open (a workload's own keywords).
    """
    found = [k for k in cfg if k not in {f.name for f in fields(Config)}]
    for key, schema in (("workload", WorkloadConf), ("executor", ExecutorConf)):
        allowed = {f.name for f in fields(schema)}
        found += [f"{key}.{k}" for k in cfg.get(key) or {} if k not in allowed]
    return found
