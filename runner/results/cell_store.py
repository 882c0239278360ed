"""Where measured cells live in a run or sweep directory, one file per cell and round.

A cell is stored once however many jobs ask for it (equal effective configs, the
serial baselines), which makes deduplication and resume a file lookup, and lets
aggregation read files rather than Hydra's in-memory returns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from runner import files
from runner.files import write_json


class CellStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.cells = root / "cells"

    def key(self, cell: str, round_: int) -> str:
        return f"{cell}-r{round_}"

    def path(self, cell: str, round_: int) -> Path:
        return self.cells / f"{self.key(cell, round_)}.json"

    def workdir(self, cell: str, round_: int) -> Path:
        return self.cells / self.key(cell, round_)

    def get(self, cell: str, round_: int) -> dict[str, Any] | None:
        path = self.path(cell, round_)
        if not path.exists():
            return None
        record: dict[str, Any] = json.loads(path.read_text())
        return record

    def put(self, record: dict[str, Any]) -> None:
        self.cells.mkdir(parents=True, exist_ok=True)
        write_json(self.path(record["cell"], record["round"]), record)

    def retire(self, cell: str, round_: int) -> None:
        """Move a failed record aside before its cell is measured again. Its place comes from the
        cell the sweep asked for, never from the record: a received file's ``cell`` or ``round``
        (``../../elsewhere``) would otherwise move a file outside the directory."""
        history = self.cells / "history"
        history.mkdir(parents=True, exist_ok=True)
        key = self.key(cell, round_)
        attempt = len(list(history.glob(f"{key}.*.json")))
        files.move(self.path(cell, round_), history / f"{key}.{attempt}.json")

    def records(self) -> Iterator[dict[str, Any]]:
        for path in sorted(self.cells.glob("*.json")):
            yield json.loads(path.read_text())
