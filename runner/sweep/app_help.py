"""``--help``: Hydra's own help text, with its config groups listed from one config repository.

Hydra's ``app_help`` lists every config group and its options twice (the application's groups
and Hydra's), each time through a fresh copy of the config repository, which holds every
registered schema: about 140 copies, most of what ``--help`` cost. This builds Hydra as
``hydra.main`` does and has it print its help through a loader that lists from one copy.
"""

from __future__ import annotations

import os
from typing import Any, cast

from hydra.core.config_loader import ConfigLoader
from hydra.core.config_search_path import SearchPathQuery
from hydra.core.global_hydra import GlobalHydra
from hydra.core.object_type import ObjectType
from hydra.errors import SearchPathException
from hydra.types import TaskFunction

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
    """Print ``--help`` as ``hydra.main`` running ``task_function`` would; False where ``argv``
    asks for something else, or names a primary config folder of its own (``--config-path``)."""
    parser = get_args_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit:
        return False  # Hydra's own parse reports it
    if not args.help or args.config_path is not None:
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
        hydra.app_help(config_name=args.config_name or "config", args_parser=parser, args=args)
    finally:
        GlobalHydra.instance().clear()
    return True
