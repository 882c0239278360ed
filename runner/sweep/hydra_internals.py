"""The only module that imports Hydra's private API (``hydra._internal``), and why each name.

Hydra 1.3 has no public way to do these things; pyproject.toml pins hydra-core below 1.4,
and tests/test_security.py, tests/test_experiments.py, tests/test_config.py (``--help``) and
tests/test_sweep.py (jobs composed from a template) exercise each one, so a Hydra upgrade that
moves them fails there, not in a user's sweep.
"""

from __future__ import annotations

# Why each name, and who uses it:
# - get_args_parser (cli.py): parse Hydra's own flags (--multirun, --config-dir, ...) exactly as
#   @hydra.main will, to check the files they name before Hydra loads them (docs/security.md).
# - BasicSweeper (callbacks.py): list a sweep's jobs as the basic sweeper will launch them (its own
#   product of the axes), to plan and validate every job before the first cell.
# - ConfigLoaderImpl, create_config_search_path, create_defaults_list (trust.py): build the config
#   loader, its search path and a job's defaults list as hydra.main does, to learn which file sets
#   which key before anything is composed.
# - ConfigLoaderImpl._apply_overrides_to_config, get_overrides_dirname (composed.py): finish a job's
#   config from another job's that chose the same config files, as Hydra finishes a composition.
# - Hydra, create_automatic_config_search_path, detect_calling_file_or_module_from_task_function,
#   detect_task_name (app_help.py): build Hydra as hydra.main does, to print --help and --hydra-help
#   without configuring logging, through a config loader that lists the config groups from one
#   repository.
from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra._internal.defaults_list import create_defaults_list
from hydra._internal.hydra import Hydra
from hydra._internal.utils import (
    create_automatic_config_search_path,
    create_config_search_path,
    detect_calling_file_or_module_from_task_function,
    detect_task_name,
    get_args_parser,
)

__all__ = [
    "BasicSweeper",
    "ConfigLoaderImpl",
    "Hydra",
    "create_automatic_config_search_path",
    "create_config_search_path",
    "create_defaults_list",
    "detect_calling_file_or_module_from_task_function",
    "detect_task_name",
    "get_args_parser",
    "get_overrides_dirname",
]
