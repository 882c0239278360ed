"""What a sweep made with --config-dir carries: every file of that folder its jobs load."""

from __future__ import annotations

from pathlib import Path

from runner.sweep import carry


def test_files_pulled_in_by_plain_defaults_entries_are_carried_too(tmp_path: Path) -> None:
    files = {
        "experiment/mine.yaml": "# @package _global_\ndefaults:\n  - /bases/common@_here_\n  - local\n  - _self_\n",
        "experiment/local.yaml": "workers: 2\n",
        "bases/common.yaml": "defaults:\n  - optional deeper\nrepeats: 2\n",
        "bases/deeper.yaml": "warmup: 0\n",
        "bases/unused.yaml": "seed: 1\n",
        "experiment/escape.yaml": "defaults:\n  - ../../outside\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path.parent / "outside.yaml").write_text("seed: 2\n")
    used = carry.used(tmp_path, "config", [{"experiment": "mine", "workload": "cpu"}, {"experiment": "escape"}])
    assert used == sorted(
        Path(p)
        for p in ("bases/common.yaml", "bases/deeper.yaml", "experiment/escape.yaml", "experiment/local.yaml",
                  "experiment/mine.yaml")
    )  # fmt: skip
