"""``--help`` and ``--hydra-help``: Hydra's own help texts, composed without configuring logging,
with the config groups listed from one config repository.

Hydra's ``app_help`` and ``hydra_help`` configure logging from the composed config before they
print: a logging ``()`` factory in a shared ``--config-dir`` would be called, and the preflight
that refuses such files (runner/cli.py) does not compose for a help. A help needs no logging, so
none is configured. They also list every config group and its options twice, each time through
a fresh copy of the config repository, which holds every registered schema: about 140 copies,
most of what ``--help`` cost. This builds Hydra as ``hydra.main`` does and prints Hydra's help
templates through a loader that lists from one copy.
"""

from __future__ import annotations

import copy
import os
from typing import Any, cast

from hydra.core.config_loader import ConfigLoader
from hydra.core.config_search_path import SearchPathQuery
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.object_type import ObjectType
from hydra.errors import SearchPathException
from hydra.types import RunMode, TaskFunction

from runner.paths import CONF_DIR
from runner.sweep.hydra_internals import (
    Hydra,
    create_automatic_config_search_path,
    detect_calling_file_or_module_from_task_function,
    detect_task_name,
    get_args_parser,
)


class GroupsFromOneRepository:
    """A Hydra config loader that lists config groups and their options from one repository;
    everything else goes to the loader it wraps."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader
        # as the wrapped loader lists them: no primary config, no overrides
        self._repository = loader._parse_overrides_and_create_caching_repo(None, [])[1]

    def list_groups(self, parent_name: str) -> list[str]:
        return self.get_group_options(parent_name, ObjectType.GROUP)

    def get_group_options(
        self,
        group_name: str,
        results_filter: ObjectType | None = ObjectType.CONFIG,
        config_name: str | None = None,
        overrides: list[str] | None = None,
    ) -> list[str]:
        if config_name is not None or overrides:
            return list(self._loader.get_group_options(group_name, results_filter, config_name, overrides))
        return list(self._repository.get_group_options(group_name, results_filter))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


def answered(argv: list[str], task_function: TaskFunction) -> bool:
    """Print ``--help`` or ``--hydra-help`` as ``hydra.main`` running ``task_function`` would, but
    for logging; False where ``argv`` asks for something else. ``--config-path`` never gets here:
    the preflight refuses it (runner/cli.py)."""
    parser = get_args_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit:
        return False  # Hydra's own parse reports it
    if not (args.help or args.hydra_help):
        return False
    caller = detect_calling_file_or_module_from_task_function(task_function)
    search_path = create_automatic_config_search_path(*caller, str(CONF_DIR))
    if args.config_dir is not None:
        config_dir = os.path.abspath(args.config_dir)
        if not os.path.isdir(config_dir):
            raise SearchPathException(f"Additional config directory '{config_dir}' not found")
        search_path.prepend(
            provider="command-line", path=f"file://{config_dir}", anchor=SearchPathQuery(provider="schema")
        )
    hydra = Hydra.create_main_hydra2(task_name=detect_task_name(*caller), config_search_path=search_path)
    try:
        # it passes on every call but the listing it answers
        hydra.config_loader = cast(ConfigLoader, GroupsFromOneRepository(hydra.config_loader))
        # Hydra's app_help and hydra_help, less their compose_config(with_log_configuration=True).
        # Hydra composes its help without the primary config, so `--hydra-help workers=2` fails
        # on a key the lab has; with it, the Hydra node shown is the one this command would run.
        mode = RunMode.MULTIRUN if args.multirun else RunMode.RUN  # a sweep's values compose only in a sweep
        cfg = hydra.compose_config(args.config_name or "config", args.overrides, run_mode=mode)
        if args.help:
            HydraConfig.instance().set_config(cfg)
            shown = hydra.get_sanitized_cfg(copy.deepcopy(cfg), "job")
            print(hydra.get_help(cfg.hydra.help, shown, parser, resolve=args.resolve))
        else:
            print(hydra.get_help(cfg.hydra.hydra_help, hydra.get_sanitized_hydra_cfg(cfg), parser, resolve=False))
    finally:
        GlobalHydra.instance().clear()
    return True
