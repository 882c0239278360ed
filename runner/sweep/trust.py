"""Trust follows where a value came from (docs/security.md).

The person's command line, the lab's own ``conf/`` and installed packages are trusted;
a ``--config-dir``, an experiment file in it, and the overrides recorded in a results
directory are not. A value that chooses a program to run, the environment of a cell,
where jobs are sent, or where files are written is accepted from the trusted side only.
``check_files`` finds every config file Hydra will load, and from where, with Hydra's
own loader; ``check_recorded`` applies the same rules to recorded overrides (replay).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_search_path import SearchPathQuery
from hydra.core.default_element import GroupDefault
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType
from hydra.errors import OverrideParseException
from omegaconf import OmegaConf

from runner.paths import CONF_DIR
from runner.sweep.hydra_internals import ConfigLoaderImpl, create_config_search_path, create_defaults_list

# python=3.12, 3.13t; YAML reads 3.10 as the number 3.1, which the lab reads back as 3.10
VERSION = re.compile(r"3\.\d+t?")
# the resolver of ${name:...}; ${a.b} (another key) names none
RESOLVER = re.compile(r"\$\{\s*([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)\s*:")
# lab.doubling reads the cores, now the clock; oc.env would copy your environment into
# results you may send back, and others are code the shared file does not need
SHAREABLE_RESOLVERS = ("lab.doubling", "now")
# what an untrusted file may set under hydra: the sweep's axes (each checked as a key)
SWEEP_PARAMS = "hydra.sweeper.params"

# Hydra keys a shared file may not set, and what each would do (the first prefix that matches).
HYDRA_KEYS = (
    (("hydra.job.env_set", "hydra.job.env_copy"), "sets the environment of every cell"),
    (("hydra.launcher", "hydra/launcher"), "chooses a launcher, where jobs are sent"),
    (("hydra.sweeper", "hydra/sweeper"), "chooses the sweeper"),
    (("hydra.callbacks", "hydra/callbacks"), "names code to run"),
    (
        ("hydra.job_logging", "hydra.hydra_logging", "hydra/job_logging", "hydra/hydra_logging"),
        "configures logging handlers",
    ),
    (("hydra.searchpath",), "adds places to load configs from"),
    (("hydra.job.chdir",), "changes the working directory of jobs"),
    (
        ("hydra.run", "hydra.sweep", "hydra.output_subdir", "hydra.runtime", "hydra/output"),
        "chooses where files are written",
    ),
)


class Refused(ValueError):
    """A value from an untrusted source that only the command line may set; one line."""


@dataclass(frozen=True)
class Rule:
    problem: str  # what the value would do
    allowed: str  # what the untrusted source may set instead
    typed: bool = True  # whether the command line may set it (a callback: nowhere)


def _matches(key: str, prefix: str) -> bool:
    return key == prefix or key.startswith((prefix + ".", prefix + "/", prefix + "["))


def rule(key: str, value: Any) -> Rule | None:
    """Why ``key`` (a dotted key, or a ``hydra/...`` group) may not take ``value`` from a shared source."""
    key = key.lstrip("+~").removeprefix("/")
    if key == "python":
        values = [str(v).strip() for v in (value if isinstance(value, list) else str(value).split(","))]
        if value is None or all(v == "" or VERSION.fullmatch(v) for v in values):
            return None
        return Rule("chooses a program to run", "a version like 3.12 or 3.13t")
    if key == "workload.function" and value is not None:
        return Rule(
            "names code to import and run",
            "a registered workload: workload.name=NAME (built in, or an installed package's entry point)",
        )
    if key == "executor.address":
        return Rule("sends tasks to a cluster and unpickles what it returns", "unset (an embedded LocalCluster)")
    if key.startswith(f"{SWEEP_PARAMS}."):
        return rule(key.removeprefix(f"{SWEEP_PARAMS}."), value)
    return _hydra_rule(key) if _matches(key, "hydra") else None


def _hydra_rule(key: str) -> Rule:
    problem = next((p for prefixes, p in HYDRA_KEYS if any(_matches(key, k) for k in prefixes)), None)
    # runner/cli.py refuses every callback but the lab's own, from anywhere
    typed = not (_matches(key, "hydra.callbacks") or _matches(key, "hydra/callbacks"))
    return Rule(problem or "is a setting of Hydra itself", f"{SWEEP_PARAMS} only, under hydra", typed)


def resolver_rule(value: Any) -> Rule | None:
    """A string that calls a resolver other than the shareable ones."""
    for name in RESOLVER.findall(str(value)):
        if name not in SHAREABLE_RESOLVERS:
            return Rule(f"calls the resolver {name!r}", f"the resolvers {', '.join(SHAREABLE_RESOLVERS)}")
    return None


def command_line(key: str, value: Any) -> str:
    """The override that sets it on the command line, for the user to type if they mean it."""
    swept = key.startswith(f"{SWEEP_PARAMS}.")
    key = key.removeprefix(f"{SWEEP_PARAMS}.").lstrip("+~").removeprefix("/")
    if "/" in key:
        return shlex.quote(f"{key}={value}")
    if isinstance(value, dict):
        return f"{key}.KEY=VALUE for each of its keys"
    text = str(value)
    if isinstance(value, list):  # a sweep's values, or a list value
        text = ",".join(map(str, value)) if swept else f"[{','.join(map(str, value))}]"
    # Hydra's node has no such keys until one is added: ++ adds or replaces
    return shlex.quote(f"{'++' if _matches(key, 'hydra') else ''}{key}={text}")


def _leaves(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every leaf; a sweep's params are leaves of their own keys."""
    if isinstance(node, dict) and node and path != SWEEP_PARAMS:
        for key, value in node.items():
            yield from _leaves(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, dict) and node:
        for key, value in node.items():
            yield f"{path}.{key}", value
    elif isinstance(node, list) and node and not _matches(path, "hydra"):  # Hydra's lists are whole values
        for index, value in enumerate(node):
            yield from _leaves(value, f"{path}[{index}]")
    else:
        yield path, node


def _exempt(key: str, typed: set[str]) -> bool:
    swept = key.startswith(f"{SWEEP_PARAMS}.")
    key = key.removeprefix(f"{SWEEP_PARAMS}.").lstrip("+~")
    if swept and _matches(key, "hydra"):
        # Hydra's sweeper lets a typed override replace a swept axis of the task's keys only: a
        # typed hydra.sweep.dir leaves a file's axis over hydra.sweep.dir to move every job's output
        return False
    # a typed group choice (executor=dask) chooses a file, and a shared file loaded after it still
    # sets that config's keys (executor.address, workload.function): only the choice is typed
    return any(key == t or (key.startswith((t + ".", t + "[")) and not (CONF_DIR / t).is_dir()) for t in typed)


def _refusal(key: str, where: str, found: Rule, value: Any, typed: bool = True) -> Refused:
    through = f", or on the command line: {command_line(key, value)}" if typed and found.typed else ""
    return Refused(
        f"{key}: {where} sets {value!r}, which {found.problem}: a shared file may not; "
        f"allowed: {found.allowed}{through}"
    )


def typed_keys(overrides: list[str]) -> set[str]:
    """The keys and groups that command-line overrides set; a file's value for them is not used."""
    keys = set()
    for override in OverridesParser.create().parse_overrides(overrides):
        keys.add(override.key_or_group.removeprefix("/"))
    return keys


def check_config(content: Any, package: str, where: str, typed: set[str]) -> None:
    """Refuse what a config from an untrusted ``where`` sets, placed at ``package``."""
    for key, value in _leaves(content, package):
        if _exempt(key, typed):
            continue
        found = resolver_rule(value) or rule(key, value)
        if found is not None:
            raise _refusal(key, where, found, value)


def _untrusted(source_path: str) -> bool:
    return source_path != f"file://{CONF_DIR}" and not source_path.startswith(("pkg://", "structured://"))


def _repository(config_dir: str | None, config_name: str, overrides: list[str]) -> tuple[list[Override], Any]:
    """``overrides`` parsed, and the config repository they make: Hydra's loader, built as ``hydra.main`` builds it."""
    search_path = create_config_search_path(f"file://{CONF_DIR}")
    if config_dir:
        search_path.prepend(
            provider="command-line", path=f"file://{Path(config_dir).resolve()}", anchor=SearchPathQuery("schema")
        )
    loader = ConfigLoaderImpl(config_search_path=search_path)
    return loader._parse_overrides_and_create_caching_repo(config_name, overrides)


def chooses_other_files(
    config_dir: str | None, config_name: str, overrides: list[str], choice: str, chosen: dict[str, Any]
) -> bool:
    """Whether ``choice`` added to ``overrides`` (whose group choices are ``chosen``, as
    ``check_files`` returns them) can make Hydra load a config file that ``overrides`` alone
    do not. Hydra takes an override as a group choice only where the group exists
    (``defaults_list.Overrides``) and takes its search path from ``hydra.searchpath``; any
    other override sets a value of the composed config."""
    override = OverridesParser.create().parse_override(choice)
    if override.is_hydra_override():
        return True
    _, repo = _repository(config_dir, config_name, overrides)
    if not repo.group_exists(override.key_or_group):
        return False
    same = override.type == OverrideType.CHANGE and override.package is None
    return not (same and chosen.get(override.key_or_group) == override.value())


def check_files(config_dir: str | None, config_name: str, overrides: list[str], typed: set[str]) -> dict[str, Any]:
    """Refuse what a config file outside the lab's ``conf/`` and installed packages sets;
    return the group choices that ``overrides`` make (``hydra.runtime.choices``).

    ``overrides`` choose the files (one job's, sweeps cut to one value); ``typed`` are the
    keys the command line sets, whose values in a file are never used. The files and
    their places come from Hydra's loader, built as ``hydra.main`` builds it.
    """
    parsed, repo = _repository(config_dir, config_name, overrides)
    defaults = create_defaults_list(
        repo=repo, config_name=config_name, overrides_list=parsed, prepend_hydra=True, skip_missing=True
    )
    untrusted = []
    for default in defaults.defaults:
        loaded = repo.load_config(default.config_path) if default.config_path else None
        if loaded is not None and _untrusted(loaded.path):
            untrusted.append((default, loaded, f"{loaded.path.removeprefix('file://')}/{default.config_path}.yaml"))
    # what a file chooses comes before what the chosen files say: the choice is the cause
    for _, loaded, where in untrusted:
        for entry in loaded.defaults_list or []:
            if not isinstance(entry, GroupDefault) or not entry.group:
                continue
            group = entry.group.removeprefix("/")
            found = None if _exempt(group, typed) else rule(group, entry.value)
            if found is not None:
                raise _refusal(group, where, found, entry.value)
    parents = {default.config_path: where for default, _, where in untrusted}
    for default in defaults.defaults:
        # a trusted file placed into Hydra's node by an untrusted one (``- /workload/cpu@hydra.job``)
        package = default.package or ""
        if default.parent in parents and _matches(package, "hydra") and not _exempt(package, typed):
            found = rule(package, default.config_path)
            assert found is not None
            where = f"{parents[default.parent]} (placing a config there)"
            raise _refusal(package, where, found, default.config_path, False)
    for default, loaded, where in untrusted:
        check_config(OmegaConf.to_container(loaded.config, resolve=False), default.package or "", where, typed)
    return dict(defaults.overrides.known_choices)


def check_recorded(overrides: list[str], where: str) -> None:
    """Refuse recorded overrides (from a results directory) that only a person may type, or that
    are not overrides at all."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except OverrideParseException as exc:
        raise Refused(
            f"{where} records {exc.override!r}, which is not an override Hydra can read; allowed: KEY=VALUE"
        ) from None
    for override in parsed:
        key = override.key_or_group
        if override.is_discrete_sweep():
            value: Any = list(override.sweep_string_iterator())
        else:
            value = override.get_value_element_as_str()
        found = resolver_rule(override.input_line) or rule(key, value)
        if found is not None:
            raise Refused(
                f"{key.lstrip('+~')}: {where} records {value!r}, which {found.problem}: a received directory "
                f"may not; allowed: {found.allowed}, or replay with --trust, or type it: "
                f"{shlex.quote(override.input_line or '')}"
            )
