"""Each job of a sweep composed once: by the lab's validation, then reused by the launcher.

Hydra composes every job three times: the lab's callback to validate it before any cell
runs, the basic sweeper to check it can be composed, and the launcher to run it. A
composition costs about 0.2 s, more than a small cell takes to measure. The sweeper of
``hydra_plugins/concurrency_lab`` hands its launcher a config loader that returns the
config composed here instead of composing it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig

# Composed job configs, by their overrides, waiting for the launcher: each is used once.
_WAITING: dict[tuple[str, ...], DictConfig] = {}


def compose(loader: Any, master: DictConfig, overrides: Sequence[str]) -> DictConfig:
    """The job's config, composed now and kept for its launch."""
    config: DictConfig = loader.load_sweep_config(master, list(overrides))
    _WAITING[tuple(overrides)] = config
    return config


def forget() -> None:
    """Drop what an earlier sweep in this process left."""
    _WAITING.clear()


def is_composed(overrides: Sequence[str]) -> bool:
    return tuple(overrides) in _WAITING


class ComposedOnce:
    """A Hydra config loader that returns a job's config composed earlier, once; everything
    else goes to the loader it wraps. Pickled (for a launcher that runs jobs in other
    processes) it is the loader it wraps: the configs stay here."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def load_sweep_config(self, master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
        waiting = _WAITING.pop(tuple(sweep_overrides), None)
        if waiting is not None:
            return waiting
        config: DictConfig = self._loader.load_sweep_config(master_config, sweep_overrides)
        return config

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_identity, (self._loader,))


def _identity(loader: Any) -> Any:
    return loader
