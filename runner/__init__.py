"""concurrency-lab: a declarative lab for measuring Python concurrency.

This package is imported by the measuring core in every cell, so it imports nothing
itself: heavy parts load only where they are used. ``runner.load(DIR)`` (the tidy
tables of a run or sweep, for a notebook) is looked up on first use, which is when
pandas gets imported.
"""

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    if name == "load":
        return importlib.import_module("runner.results.load").load
    raise AttributeError(f"module 'runner' has no attribute {name!r}")
