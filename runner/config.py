"""Structured configs: Hydra type-checks every value against these before a cell runs.

Registered in Hydra's ConfigStore as the schemas that ``conf/`` YAML files extend.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf


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


def cores() -> int:
    """The cores this process may run on (its affinity), which a container may cap below cpu_count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


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
