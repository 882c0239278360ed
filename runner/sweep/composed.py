"""Each job of a sweep composed once, and jobs that choose the same files composed together.

Hydra composes every job three times: the lab's callback to validate it before any cell
runs, the basic sweeper to check it can be composed, and the launcher to run it. The
sweeper of ``hydra_plugins/concurrency_lab`` hands its launcher a config loader that returns
the config composed here instead of composing it again.

Most of a composition (0.06 s here, longer than a small cell takes to measure) is building
the defaults list and merging the files it names. Jobs that differ only in values
(``workers=1,2,4,8``, ``seed=0,1,2``) choose the same files, so a job whose overrides choose
the same config groups as an earlier job's starts from a copy of that job's config, and its
values are applied as Hydra applies them (``_apply_overrides_to_config``), with the same
checks and errors; the records Hydra keeps of the overrides are rewritten as Hydra writes
them. A job is Hydra's own composition wherever that could differ: a primary config that adds
to the search path, a value that can change more than its key, a key Hydra writes itself.
tests/test_sweep.py compares every job's config with Hydra's own composition.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from runner.sweep.hydra_internals import ConfigLoaderImpl, get_overrides_dirname

# Composed job configs, by their overrides, waiting for the launcher: each is used once.
_WAITING: dict[tuple[str, ...], DictConfig] = {}
# A composed config for each set of files chosen, by what chose them (see _files_chosen).
_TEMPLATES: dict[tuple[Any, ...], Template] = {}


def compose(loader: Any, master: DictConfig, overrides: Sequence[str]) -> DictConfig:
    """The job's config, composed now and kept for its launch."""
    hydra_overrides = OmegaConf.to_container(master.hydra.overrides.hydra)  # as load_sweep_config adds them
    assert isinstance(hydra_overrides, list)
    parsed = OverridesParser.create().parse_overrides([*map(str, hydra_overrides), *overrides])
    files, values = _files_chosen(loader, master, parsed)
    template = _TEMPLATES.get(files) if files is not None else None
    if template is None:
        config: DictConfig = loader.load_sweep_config(master, list(overrides))
        if files is not None:
            _TEMPLATES[files] = Template.of(config, parsed)
    else:
        config = _from_template(template, master, parsed, values)
    _WAITING[tuple(overrides)] = config
    return config


# Keys Hydra writes itself after applying the overrides (config_loader_impl._load_configuration_impl):
# a job that sets one is composed by Hydra, which decides what stays.
HYDRA_WRITES = ("hydra.runtime", "hydra.job.config_name", "hydra.job.env_set", "hydra.job.env_copy", "hydra.overrides")


def _files_chosen(
    loader: Any, master: DictConfig, parsed: list[Override]
) -> tuple[tuple[Any, ...] | None, list[Override]]:
    """What decides the files a job loads (the primary config, its config group choices in order,
    and the keys but not the values of its other overrides), and those other overrides; None where
    the job must be Hydra's own composition: a search path from the primary config (the groups
    it adds are not in ``loader.repository``), or a value that could change more than its own key
    (a dict merges into what is there, ``+`` fails where the key exists, ``~`` deletes) or a key
    Hydra writes itself."""
    if master.hydra.searchpath:
        return None, []
    groups, keys, values = [], [], []
    for override in parsed:
        # Hydra's own test (defaults_list.Overrides): a group where the repository has one
        if loader.repository.group_exists(override.key_or_group) and not isinstance(override.value(), dict):
            groups.append(override.input_line)
        elif (
            override.package is None
            and not override.is_add()
            and not override.is_delete()
            and not isinstance(override.value(), dict | list)
            and not override.key_or_group.startswith(HYDRA_WRITES)
        ):
            keys.append((override.key_or_group, override.is_force_add()))
            values.append(override)
        else:
            return None, []
    return (master.hydra.job.config_name, *groups, None, *keys), values


@dataclass(frozen=True)
class Template:
    """A job's config as Hydra composed it, and what its files set in ``hydra.overrides``
    before Hydra appended the job's own overrides there."""

    config: DictConfig
    hydra_records: list[str]
    task_records: list[str]

    @classmethod
    def of(cls, config: DictConfig, parsed: list[Override]) -> Template:
        hydra, task = list(config.hydra.overrides.hydra), list(config.hydra.overrides.task)
        appended = sum(o.is_hydra_override() for o in parsed)
        # a copy: the launcher writes the job's number and id into the config it runs
        return cls(copy.deepcopy(config), hydra[: len(hydra) - appended], task[: len(task) - (len(parsed) - appended)])


def _from_template(
    template: Template, master: DictConfig, parsed: list[Override], values: list[Override]
) -> DictConfig:
    """A copy of ``template`` with this job's values, finished as Hydra's composition finishes it."""
    try:
        config = copy.deepcopy(template.config)
        ConfigLoaderImpl._apply_overrides_to_config(values, config)
        app = [o for o in parsed if not o.is_hydra_override()]
        config.hydra.overrides.hydra = [
            *template.hydra_records,
            *(o.input_line for o in parsed if o.is_hydra_override()),
        ]
        config.hydra.overrides.task = [*template.task_records, *(o.input_line for o in app)]
        naming = config.hydra.job.config.override_dirname
        config.hydra.job.override_dirname = get_overrides_dirname(
            overrides=app, kv_sep=naming.kv_sep, item_sep=naming.item_sep, exclude_keys=naming.exclude_keys
        )
    except OmegaConfBaseException as exc:  # as Hydra's load_configuration reports it
        raise ConfigCompositionException().with_traceback(sys.exc_info()[2]) from exc
    OmegaConf.copy_cache(from_config=master, to_config=config)
    return config


def forget() -> None:
    """Drop what an earlier sweep in this process left."""
    _WAITING.clear()
    _TEMPLATES.clear()


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
