"""A composed config, checked and made plain: the cell spec it measures, and its limits.

Run for every job before the first cell (callbacks.py) and again by each job (app.py).
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from runner.claims import expectations as expect
from runner.claims.expression import ExprError
from runner.sweep import config, spec
from runner.sweep.errors import fail
from runner.sweep.launch import Limits


def plain(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config without Hydra's own node (a sweep-time compose leaves
    hydra.job.num unset, so resolving that node would fail)."""
    return {
        str(key): OmegaConf.to_container(cfg[key], resolve=True) if OmegaConf.is_config(cfg[key]) else cfg[key]
        for key in cfg
        if key != "hydra"
    }


def build_spec(cfg: dict[str, Any]) -> dict[str, Any]:
    unknown = config.unknown_key(cfg)
    if unknown:
        fail(unknown)
    try:
        built = spec.build(cfg)
        limits(cfg)
        # a shared YAML's expressions are refused here, before any cell runs; any param_*
        # name passes, as other jobs of the sweep may have the parameter
        expect.parse(cfg.get("expect") or [], None)
    except (spec.SpecError, ExprError) as exc:
        fail(str(exc))
    return built


def limits(cfg: dict[str, Any]) -> Limits:
    """The cell's memory and process limits; SpecError names a bad one."""
    memory = cfg.get("memory_mb")
    return Limits(
        None if memory is None else float(spec.in_range("memory_mb", memory)),
        spec._check_int("max_procs", cfg.get("max_procs", Limits.max_procs)),
    )
