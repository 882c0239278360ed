"""Hydra's basic sweeper, composing each job once (runner/sweep/composed.py says why).

The lab's callback composes and validates every job before the first cell; this sweeper
checks only jobs the callback did not compose, and gives its launcher a config loader
that reuses the compositions. Everything else, including the order of the jobs and
``max_batch_size``, is the basic sweeper's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

# Not through runner/sweep/hydra_internals.py: Hydra's plugin scan executes its core plugins'
# modules again, and this class must extend the BasicSweeper that exists after the scan.
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.config_loader import ConfigLoader
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from runner.sweep import composed


class LabSweeper(BasicSweeper):
    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        # ComposedOnce stands in for the loader: it passes on every call but the one it answers
        loader = cast(ConfigLoader, composed.ComposedOnce(hydra_context.config_loader))
        reusing = HydraContext(config_loader=loader, callbacks=hydra_context.callbacks)
        super().setup(hydra_context=reusing, task_function=task_function, config=config)

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        assert self.hydra_context is not None and self.config is not None
        loader: Any = self.hydra_context.config_loader
        for overrides in batch:
            if not composed.is_composed(overrides):
                composed.compose(loader, self.config, overrides)
