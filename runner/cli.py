"""The Hydra app that ``python -m runner`` and ``concurrency-lab`` run (runner/console.py):
Hydra's command line, with one-line errors and a safety check.

Hydra prints composition errors over several lines and, for shared YAML, would
instantiate whatever ``hydra.callbacks`` or a logging ``()`` factory names before any
of the lab's code runs. This wrapper composes the config once first (Hydra's public
compose API), refuses code that a YAML file tries to have called, and reports every
input error as one line: ``error: <key>: <problem>``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, OverrideParseException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException, ValidationError

import workloads
from runner.commands import SUBCOMMANDS
from runner.paths import CONF_DIR
from runner.sweep import config, spec, trust, validate
from runner.sweep.errors import Uncomposable, fail
from runner.sweep.hydra_internals import get_args_parser
from runner.sweep.progress import SweepProgress

EXIT_INTERRUPTED = 130
LAB_CALLBACK = "runner.sweep.callbacks.LabCallback"


class UnsafeConfig(ValueError):
    """A YAML file or override that would have the lab call code it names."""


def not_an_override(text: str) -> str:
    """An argument Hydra's grammar cannot read: a misspelt subcommand, a space after a sweep's comma."""
    if "=" not in text:
        close = difflib.get_close_matches(text, SUBCOMMANDS, n=1)
        hint = f"; did you mean concurrency-lab {close[0]}?" if close else ""
        return (
            f"{text}: not an override; allowed: KEY=VALUE, KEY=A,B to sweep, or before them a subcommand of "
            f"concurrency-lab: {', '.join(SUBCOMMANDS)}{hint}"
        )
    return (
        f"{text}: not an override Hydra can read; allowed: KEY=VALUE, KEY=A,B to sweep (no space after a comma), "
        "a value with other characters quoted (KEY='a value')"
    )


def one_line(exc: BaseException, argv: list[str]) -> str:
    """Hydra's and OmegaConf's own words, folded to one line that names the key; an override of
    a key the config lacks or of the wrong type, in the lab's words (never Hydra's advice to
    append it with ``+``, which only moves the error)."""
    cause = exc.__cause__
    if isinstance(cause, ConfigAttributeError | ConfigKeyError) and str(exc).startswith("Could not override"):
        return unknown_override(str(cause.full_key), argv)
    appended = re.match(
        r"Could not override '([^']+)'\. No match in the defaults list\.\s.* use \+\S+=(\S+)", str(exc), re.S
    )
    if appended:  # a group the config does not choose by default (experiment): + is the lab's rule too
        group, option = appended.groups()
        return f"{group}: chosen by no default; +{group}={option} adds it"
    merging = re.match(r"Error merging override [^=]+=(.*)", str(exc))
    if isinstance(cause, ValidationError) and merging and dataclasses.is_dataclass(cause.object_type):
        return config.wrong_type(cause.object_type, str(cause.key), str(cause.full_key), merging.group(1))
    parts = [str(exc)]
    if isinstance(exc.__cause__, OmegaConfBaseException):
        parts.append(str(exc.__cause__))
    key, words = None, []
    for line in "\n".join(parts).splitlines():
        line = line.strip()
        if line.startswith("full_key:"):
            key = key or line.split(":", 1)[1].strip()
        elif line and not line.startswith(("reference_type=", "object_type=")):
            words.append(line)
    text = " ".join(words)
    missing = re.search(r"Could not find '([^']+)/([^'/]+)'", text)
    if missing:
        group, name = missing.groups()
        listed = re.search(r"Available options in '[^']+':(.*?)(Config search path|$)", text)
        options = sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml")) or (
            listed.group(1).split() if listed else []
        )
        allowed = ", ".join(options) or "none"
        if name.startswith("base_"):
            # the schemas left the option groups (tab completion listed them as choices)
            return f"{group}: no option {name!r}; a config extends that schema with '- /{name}@_here_'"
        return f"{group}: no option {name!r}; allowed: {allowed}"
    return _schema_key(text, key) or (f"{key}: {text}" if key and not text.startswith(key) else text)


def _schema_key(text: str, key: str | None) -> str | None:
    """A key that a file sets inside one of the lab's schemas (``chek:`` in an expect item), in the
    lab's words: the file, and the keys the schema has."""
    found = re.search(r"Key '([^']+)' not in '(\w+)'", text)
    schema = getattr(config, found.group(2), None) if found else None
    if found is None or not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
        return None
    source = re.search(r"In '([^']+)'", text)
    where = f" (in {source.group(1)})" if source else ""
    fields = ", ".join(f.name for f in dataclasses.fields(schema))
    return f"{key or found.group(1)}: unknown key{where}; allowed: {fields}"


def unknown_override(key: str, argv: list[str]) -> str:
    """``KEY: unknown key; did you mean ...?`` against the key paths of the config that the other
    overrides compose (or the bare config, where they fail too). ``workload.params`` holds the
    keywords of the workload's function: one its config does not list is added with ``+``."""
    args, _ = get_args_parser().parse_known_args(argv)
    searchpath = [f"hydra.searchpath=[file://{Path(args.config_dir).resolve()}]"] if args.config_dir else []
    others = [o for o in _first_values(list(args.overrides)) if o.split("=", 1)[0].lstrip("+~") != key]
    # a sweep stops at the first job whose config lacks the key: with a workload axis, not
    # necessarily the first value's
    axis = [o for o in args.overrides if o.split("=", 1)[0] == "workload"]
    fixed = [o for o in others if o.split("=", 1)[0] != "workload"]
    jobs = [[*fixed, w] for w in _first_values(axis, every=True)] + [others, []]
    # Hydra's own keys are offered only for a key in its node: elsewhere they are noise
    hydra = key.startswith("hydra.")
    cfg: dict[str, Any] = {}
    for overrides in jobs:
        try:
            composed = _compose(args.config_name or "config", [*overrides, *searchpath])
        except (HydraException, OmegaConfBaseException):
            continue
        cfg = {"hydra": OmegaConf.to_container(composed.hydra, resolve=False)} if hydra else validate.plain(composed)
        if key not in config.key_paths(cfg):
            break
    workload = cfg.get("workload") or {}
    if not key.startswith("workload.params."):
        return spec.unknown(key, config.key_paths(cfg))
    try:
        known = spec.parameters(workloads.reference(str(workload.get("name"))))
    except workloads.UnknownWorkload:
        return f"{key}: unknown key; allowed: a parameter of the workload"
    if key.removeprefix("workload.params.") in known:
        return f"{key}: workload {workload['name']!r} does not set it; +{key}=VALUE passes it to its function"
    return spec.unknown(
        key, [f"workload.params.{p}" for p in known], f"not a parameter of workload {workload['name']!r}"
    )


def _compose(config_name: str, overrides: list[str]) -> DictConfig:
    """The config as Hydra will compose it, its hydra node included."""
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()


def _first_values(overrides: list[str], every: bool = False) -> list[str]:
    """Sweep overrides cut to their first value: enough to compose the hydra node (``every``: each value)."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    single = []
    for override in parsed:
        if override.is_sweep_override() and override.is_discrete_sweep():
            values = list(override.sweep_string_iterator())
            single += [f"{override.get_key_element()}={v}" for v in (values if every else values[:1])]
        elif not override.is_sweep_override():
            single.append(override.input_line or "")
    return single


def _logging_factories(node: Any, where: str) -> list[str]:
    """Paths in a logging config that name a callable: ``()`` or a non-logging class."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{where}.{key}"
            if key == "()" or (key == "class" and not str(value).startswith("logging.")):
                found.append(path)
            found += _logging_factories(value, path)
    return found


def check_safe(hydra_node: DictConfig) -> None:
    """Refuse a composed config whose Hydra node would have Hydra call named code."""
    callbacks = OmegaConf.to_container(hydra_node.get("callbacks") or {}, resolve=False)
    assert isinstance(callbacks, dict)
    for name, node in callbacks.items():
        target = node.get("_target_") if isinstance(node, dict) else None
        if target != LAB_CALLBACK:
            raise UnsafeConfig(f"hydra.callbacks.{name!s}: a shared config may not name code to run ({target!r})")
    for part in ("job_logging", "hydra_logging"):
        node = OmegaConf.to_container(hydra_node.get(part) or {}, resolve=False)
        for path in _logging_factories(node, f"hydra.{part}"):
            raise UnsafeConfig(f"{path}: a shared config may not name code to run; only logging.* classes")


def _swept_choices(params: Any, command_line: list[str]) -> list[str]:
    """One override per value of each axis the composed config sweeps (``hydra.sweeper.params``):
    a value may choose a config file (``workload: cpu,mine``) that the first composition did not load.
    An axis the command line sets is not swept: Hydra's sweeper keeps the command line's."""
    parser = OverridesParser.create()
    replaced = {o.get_key_element() for o in parser.parse_overrides(command_line) if not o.is_hydra_override()}
    choices: list[str] = []
    axes = OmegaConf.to_container(params, resolve=False) if OmegaConf.is_dict(params) else {}
    assert isinstance(axes, dict)
    for key, value in axes.items():
        try:
            override = parser.parse_override(f"{key!s}={value}")
        except HydraException:
            continue  # Hydra's sweeper reports it
        if override.is_discrete_sweep() and override.get_key_element() not in replaced:
            choices += [f"{override.get_key_element()}={v}" for v in override.sweep_string_iterator()]
    return choices


def preflight(argv: list[str]) -> None:
    """Compose once as Hydra will, and check where each value comes from and the Hydra node
    before Hydra acts on them (runner/sweep/trust.py)."""
    try:
        args, _ = get_args_parser().parse_known_args(argv)
    except SystemExit:
        return  # Hydra's own parser reports it
    if args.config_path is not None:
        # the checks below read the lab's conf/ as the primary config; another would load unchecked
        raise UnsafeConfig(
            "--config-path: would replace the lab's primary config (conf/) with a directory's own, which "
            "the lab does not check; allowed: --config-dir DIR (its files are checked before they load)"
        )
    if args.resolve and not (args.cfg or args.help):  # Hydra raises it as a traceback
        fail("--resolve: resolves the config a --cfg or --help prints; allowed: with --cfg job or --help")
    if args.help or args.hydra_help or args.cfg or args.info or args.shell_completion:
        return
    overrides, config_name = list(args.overrides), args.config_name or "config"
    try:
        first = _first_values(overrides)
        typed = trust.typed_keys(overrides)
        chosen = trust.check_files(args.config_dir, config_name, first, typed)
        searched = [f"hydra.searchpath=[file://{Path(args.config_dir).resolve()}]"] if args.config_dir else []
        cfg = _compose(config_name, [*first, *searched])
        # a single run never sweeps: its axes load nothing
        swept = args.multirun or cfg.hydra.mode == RunMode.MULTIRUN
        for choice in _swept_choices(cfg.hydra.sweeper.params, overrides) if swept else []:
            if trust.chooses_other_files(args.config_dir, config_name, first, choice, chosen):
                trust.check_files(args.config_dir, config_name, [*first, choice], typed)
    except trust.Refused:
        raise
    except (HydraException, OmegaConfBaseException, ValueError, yaml.YAMLError):
        return  # composition errors are reported by Hydra's own run, below
    check_safe(cfg.hydra)


def not_utf8(argv: list[str], exc: UnicodeDecodeError) -> str:
    """The config file that is not UTF-8 (Hydra reads it without saying which), as one line."""
    args, _ = get_args_parser().parse_known_args(argv)
    for path in sorted(Path(args.config_dir or CONF_DIR).rglob("*.yaml")):
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError as found:
            return f"{path}: not UTF-8 text ({found.reason} at byte {found.start}); allowed: a YAML file in UTF-8"
    return f"a config file is not UTF-8 text ({exc.reason}); allowed: YAML files in UTF-8"


@contextlib.contextmanager
def hydra_reraises() -> Iterator[bool]:
    """Hydra re-raises instead of printing while ``HYDRA_FULL_ERROR`` is set, so that the lab
    prints one line; yields whether the user had set it (for a traceback), and puts their value
    back on the way out, so that a second call in one process (tests, a notebook) sees it."""
    users = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield bool(users)
    finally:
        if users is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = users


def main(argv: list[str] | None = None) -> None:
    """Run the Hydra app; input errors become one line and exit code 2."""
    argv = sys.argv[1:] if argv is None else argv
    with hydra_reraises() as user_wants_traceback:
        _run_app(argv, user_wants_traceback)


def _not_composed(exc: BaseException, argv: list[str], user_wants_traceback: bool) -> NoReturn:
    """Hydra's or OmegaConf's error as one line; with ``HYDRA_FULL_ERROR`` set, raised as Hydra
    raised it (out of the ``Uncomposable`` that carried it past Hydra's callbacks)."""
    error = exc.error if isinstance(exc, Uncomposable) else exc
    if not user_wants_traceback:
        fail(not_an_override(error.override) if isinstance(error, OverrideParseException) else one_line(error, argv))
    if error is exc:
        raise exc
    raise error from error.__cause__


def _run_app(argv: list[str], user_wants_traceback: bool) -> None:
    # the summary's helper was started before Hydra was imported (runner/console.py)
    from runner.sweep import app, app_help, callbacks, finishing, launch

    try:
        preflight(argv)
        sys.argv = [sys.argv[0], *argv]
        if not app_help.answered(argv, app.main):
            app.main()
    except (UnsafeConfig, trust.Refused) as exc:
        fail(str(exc))
    except UnicodeDecodeError as exc:
        fail(not_utf8(argv, exc))
    except RecursionError:
        # OmegaConf builds nested YAML recursively; a hostile file can nest past Python's limit
        fail("config: a config file nests too deeply to load; allowed: YAML nested less deeply")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{mark.name}, line {mark.line + 1}, column {mark.column + 1}" if mark else "a config file"
        fail(f"{where}: YAML syntax error: {exc.problem or exc}")
    except (HydraException, OmegaConfBaseException, Uncomposable) as exc:
        _not_composed(exc, argv, user_wants_traceback)
    except BrokenPipeError:
        # the reader went away (`| head`): stop quietly, as any command-line tool does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0) from None
    except KeyboardInterrupt:
        SweepProgress.stop()
        root = callbacks.LabCallback.current_root
        print("\ninterrupted: every finished cell is kept", file=sys.stderr)
        if root is not None:
            given = [a for a in argv if not a.startswith("hydra.sweep.dir=")]
            again = " ".join([sys.argv[0] if not sys.argv[0].endswith("__main__.py") else "python -m runner", *given])
            print(f"resume with: {again} hydra.sweep.dir={root}", file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED) from None
    finally:
        # a command that stopped before its summary (bad input, Ctrl-C, a failed job) leaves no
        # helper and no interpreter started ahead
        finishing.discard()
        launch.discard()
