"""What a run or sweep directory says about how it was made: Hydra's own records.

A sweep root keeps ``multirun.yaml`` (the config and every command-line override) and
one ``<job>/.hydra/`` per job; a single run keeps ``.hydra/`` at its root. From these
alone the report learns the expectations and the command, and ``runner.replay``
rebuilds the command. No pandas here: replay needs none.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:  # libyaml parses the thousand job configs of a big sweep several times faster
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]

from runner import files

# Overrides that say where a run lands or how Hydra was invoked, not what it measures.
PLACEMENT = ("hydra.sweep.dir=", "hydra.run.dir=", "hydra.mode=")
# Where a directory keeps the --config-dir files it was made with (runner/sweep/carry.py)
CONFIG_COPY = "config"


class RecordError(ValueError):
    """A directory whose Hydra records are missing or unreadable; the message names the file."""


@dataclass(frozen=True)
class Recorded:
    root: Path
    multirun: bool
    task_overrides: list[str]
    # Hydra-group overrides (hydra/launcher=..., hydra.job.chdir=...) without PLACEMENT
    hydra_overrides: list[str]
    # directories given with --config-dir (Hydra records them as "command-line" sources)
    config_dirs: list[str]
    config: dict[str, Any]
    expect: list[Any] = field(default_factory=list)

    def sources(self) -> list[str]:
        """The ``--config-dir`` to make it again from: the copy the directory keeps (``config/``,
        wherever the directory now is), else the recorded folder, which may be on another machine."""
        copy = self.root / CONFIG_COPY
        return [str(copy)] if self.config_dirs and copy.is_dir() else self.config_dirs

    def argv(self, out: Path | None = None, config_dirs: list[str] | None = None) -> list[str]:
        """``python -m runner`` arguments that make this run or sweep again (into ``out``), from
        ``config_dirs`` (by default ``sources()``)."""
        args = ["-m"] if self.multirun else []
        for directory in self.sources() if config_dirs is None else config_dirs:
            args += ["--config-dir", directory]
        args += [*self.task_overrides, *self.hydra_overrides]
        if out is not None:
            args.append(f"hydra.{'sweep' if self.multirun else 'run'}.dir={override_value(str(out))}")
        return args

    def command(self, out: Path | None = None, config_dirs: list[str] | None = None) -> str:
        return shlex.join(["python", "-m", "runner", *self.argv(out, config_dirs)])


def override_value(text: str) -> str:
    """``text`` as a value Hydra's override grammar reads back whole: quoted where it holds
    anything but the plain characters of a path (a comma would make a sweep, non-ASCII fails),
    with ``${`` escaped (a quoted value is still interpolated)."""
    if re.fullmatch(r"[A-Za-z0-9_./+\-@%:]+", text):
        return text
    # in Hydra's quoted strings a backslash is literal but before a quote (or the closing one)
    quoted = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", text).replace("${", "\\${")
    return "'" + re.sub(r"(\\+)$", lambda m: m.group(1) * 2, quoted) + "'"


def _own(root: Path, path: Path) -> Path:
    return files.own(root, path, RecordError)


def _load(root: Path, path: Path) -> dict[str, Any]:
    try:
        text = _own(root, path).read_text()
        _plain(text, path)
        data = yaml.load(text, Loader=SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RecordError(f"{path}: cannot read Hydra's record ({type(exc).__name__})") from None
    return _mapping(data, str(path))


# Deeper than any config: a received file nested further would crash the YAML reader (its C stack).
DEEPEST = 100


def _plain(text: str, path: Path) -> None:
    """Refuse a received record that could cost minutes or memory to read: Hydra writes no anchors
    (aliases nest a small file into billions of items) and no deep nesting."""
    depth = 0
    for event in yaml.parse(text, Loader=SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise RecordError(f"{path}: a YAML alias (*name), which Hydra's records never hold; allowed: plain YAML")
        depth += isinstance(event, yaml.CollectionStartEvent) - isinstance(event, yaml.CollectionEndEvent)
        if depth > DEEPEST:
            raise RecordError(
                f"{path}: nested deeper than {DEEPEST} levels; allowed: Hydra's records as it writes them"
            )


def _mapping(value: Any, where: str) -> dict[str, Any]:
    """``value`` where it is a mapping (or nothing: an empty one); a hand-edited record of another shape is refused."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(f"{where}: expected a YAML mapping, found {type(value).__name__}")
    return value


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(f"{where}: expected a list of overrides, found {type(value).__name__}")
    return [str(v) for v in value]


def _top_level_comma(value: str) -> bool:
    depth, quote = 0, ""
    for char in value:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        elif char == "," and depth == 0:
            return True
    return False


def sweeps_expectations(overrides: dict[str, str]) -> bool:
    """Whether the swept values (key -> value) can give jobs different expectations: an
    ``expect`` or ``experiment`` key swept over a list or a sweep function."""
    for key, value in overrides.items():
        key = key.lstrip("+~")
        if key in ("expect", "experiment") or key.startswith(("expect.", "expect[")):
            text = str(value).strip()
            if _top_level_comma(text) or text.startswith(("choice(", "range(", "glob(", "interval(")):
                return True
    return False


def _job_expectations(root: Path) -> list[Any]:
    """Expectations of every job, for a sweep whose jobs can differ in them."""
    found: list[Any] = []
    for path in sorted(root.glob("*/.hydra/config.yaml")):
        text = _own(root, path).read_text(errors="replace")
        if "\nexpect:" not in text or "\nexpect: []" in text:  # parse only the few that have any
            continue
        found += _as_list(_load(root, path).get("expect"))
    return found


def _as_list(value: Any) -> list[Any]:
    """A hand-edited ``expect`` may be a single item; it is still judged (and refused if malformed)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _unique(items: list[Any]) -> list[Any]:
    """Each expectation once (every job of a sweep records the same list); a malformed
    item is kept as it is, for the report to refuse by its index."""
    seen: dict[str, Any] = {}
    for item in items:
        key = repr([item.get(k) for k in ("claim", "where", "check")]) if isinstance(item, dict) else repr(item)
        seen.setdefault(key, item)
    return list(seen.values())


def read(root: Path) -> Recorded:
    """The records of a sweep root (multirun.yaml) or of a single run (.hydra/)."""
    multirun = (root / "multirun.yaml").is_file()
    if multirun:
        whole = _load(root, root / "multirun.yaml")
        hydra = _mapping(whole.get("hydra"), "multirun.yaml: hydra")
        config = {k: v for k, v in whole.items() if k != "hydra"}
    elif (root / ".hydra" / "hydra.yaml").is_file():
        hydra = _mapping(_load(root, root / ".hydra" / "hydra.yaml").get("hydra"), ".hydra/hydra.yaml: hydra")
        config_path = root / ".hydra" / "config.yaml"
        config = _load(root, config_path) if config_path.is_file() else {}
    else:
        raise RecordError(f"{root}: neither multirun.yaml nor .hydra/hydra.yaml here; not a run or sweep directory")
    copy = root / CONFIG_COPY  # what a replay loads as its --config-dir
    linked = files.links_out(_own(root, copy), root) if copy.is_dir() else None
    if linked is not None:
        raise RecordError(f"{linked}: a symbolic link out of {root}; allowed: the directory's own files")
    overrides = _mapping(hydra.get("overrides"), "hydra.overrides")
    runtime = _mapping(hydra.get("runtime"), "hydra.runtime")
    sources = runtime.get("config_sources") or []
    if not isinstance(sources, list):
        raise RecordError(f"hydra.runtime.config_sources: expected a list, found {type(sources).__name__}")
    task = _strings(overrides.get("task"), "hydra.overrides.task")
    expect = _as_list(config.get("expect"))
    swept = {o.partition("=")[0]: o.partition("=")[2] for o in task}
    params = _mapping(_mapping(hydra.get("sweeper"), "hydra.sweeper").get("params"), "hydra.sweeper.params")
    swept.update({str(k): str(v) for k, v in params.items()})
    if multirun and sweeps_expectations(swept):  # else multirun.yaml holds every job's list
        expect += _job_expectations(root)
    return Recorded(
        root=root,
        multirun=multirun,
        task_overrides=task,
        hydra_overrides=[
            o for o in _strings(overrides.get("hydra"), "hydra.overrides.hydra") if not o.startswith(PLACEMENT)
        ],
        config_dirs=[str(s["path"]) for s in sources if isinstance(s, dict) and s.get("provider") == "command-line"],
        config=config,
        expect=_unique(expect),
    )
