"""What a sweep directory carries to be replayed elsewhere: the ``--config-dir`` files it used.

A sweep made with ``--config-dir mine`` needs ``mine/experiment/...`` to be made again, and
that folder stays on the author's machine. The files each job loaded from it (Hydra's
``hydra.runtime.choices``, and the primary config when ``--config-name`` chose one there) are
copied into ``<sweep>/config/`` before any cell runs; ``runner.replay`` loads them from there.
The copy is a received folder like any other: replay's lab checks it as a shared ``--config-dir``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from runner import files
from runner.results.hydra_records import CONFIG_COPY
from runner.sweep.errors import fail


def config_dir(config: DictConfig) -> Path | None:
    """The folder given with ``--config-dir`` (Hydra records it as the "command-line" source)."""
    for source in OmegaConf.select(config, "hydra.runtime.config_sources", default=None) or []:
        if source.get("provider") == "command-line" and source.get("path"):
            return Path(str(source["path"]))
    return None


def choices(config: DictConfig) -> dict[str, Any]:
    """A composed config's group choices (group -> option, or options), as Hydra recorded them."""
    chosen = OmegaConf.to_container(config.hydra.runtime.choices)
    assert isinstance(chosen, dict)
    return {str(group): option for group, option in chosen.items()}


def used(folder: Path, config_name: str, choices: Iterable[Mapping[str, Any]]) -> list[Path]:
    """The files of ``folder`` that the jobs' group choices (and the primary config) load, relative to it."""
    found = {Path(f"{config_name}.yaml")}
    for chosen in choices:
        for group, options in chosen.items():
            group = str(group).partition("@")[0]  # "group@package": the file is the group's
            for option in options if isinstance(options, list | tuple) else [options]:
                if option is not None:
                    found.add(Path(group) / f"{option}.yaml")
    # a choice such as ../../x would have the copy written outside the sweep directory
    inside = {path for path in found if ".." not in path.parts and not path.is_absolute()}
    present = {path for path in inside if (folder / path).is_file()}
    return sorted(present | _included(folder, present))


def _included(folder: Path, files: set[Path]) -> set[Path]:
    """The folder's files that ``files`` pull in by a plain defaults entry (``- common``,
    ``- /my_base@_here_``), which names a file rather than a group choice, and what those pull in."""
    found: set[Path] = set()
    todo = list(files)
    while todo:
        path = todo.pop()
        try:
            loaded = yaml.safe_load((folder / path).read_text())
        except (OSError, yaml.YAMLError):
            continue  # the lab's own checks say what is wrong with a file Hydra loads
        entries = loaded.get("defaults") if isinstance(loaded, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, str) or entry == "_self_":
                continue
            name = entry.removeprefix("optional ").partition("@")[0]
            # absolute from the folder's root, or relative to the including file's own group
            target = Path(name.removeprefix("/") + ".yaml") if name.startswith("/") else path.parent / f"{name}.yaml"
            inside = ".." not in target.parts and not target.is_absolute()
            if inside and target not in found | files and (folder / target).is_file():
                found.add(target)
                todo.append(target)
    return found


def keep(root: Path, config: DictConfig, choices: Iterable[Mapping[str, Any]]) -> None:
    """Copy the ``--config-dir`` files the jobs use into ``root/config/``; a copy an earlier session of
    this directory made is kept, and one that the folder's file no longer matches stops the sweep."""
    folder = config_dir(config)
    if folder is None:
        return
    # even when the folder supplied no file: replay then needs nothing of the author's folder
    (root / CONFIG_COPY).mkdir(parents=True, exist_ok=True)
    for relative in used(folder, str(config.hydra.job.config_name), choices):
        data, target = (folder / relative).read_bytes(), root / CONFIG_COPY / relative
        if target.is_file():
            if target.read_bytes() != data:
                fail(
                    f"--config-dir: {folder / relative} differs from the copy this sweep directory keeps of it "
                    f"({target}); allowed: the files the sweep was made with, or a new sweep directory"
                )
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        files.write_bytes(target, data)
