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
    inside = (path for path in found if ".." not in path.parts and not path.is_absolute())
    return sorted(path for path in inside if (folder / path).is_file())


def keep(root: Path, config: DictConfig, choices: Iterable[Mapping[str, Any]]) -> None:
    """Copy the ``--config-dir`` files the jobs use into ``root/config/``; a copy an earlier session of
    this directory made is kept, and one that the folder's file no longer matches stops the sweep."""
    folder = config_dir(config)
    if folder is None:
        return
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
