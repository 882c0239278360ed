"""The collector in the lab's commands (runner/collector.py): off while a command imports, and
what the imports built frozen afterwards; untouched where the lab is a library. Each case runs in
a fresh interpreter, since freezing is for the whole process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from runner.paths import PROJECT_ROOT

PROBE = """
import gc, json, sys
from runner import collector
if sys.argv[1] == "command":
    collector.command()
if sys.argv[2] == "disabled":
    gc.disable()
seen = {}
gc.callbacks.append(lambda phase, info: seen.setdefault("collected", True))
try:
    with collector.importing():
        seen["enabled inside"] = gc.isenabled()
        import email.parser, json.decoder, xml.dom.minidom  # noqa: F401  (something to import)
        garbage = [[] for _ in range(3000)]  # enough allocations to start a collection where one may run
        for cell in garbage:
            cell.append(cell)
        del garbage
        if sys.argv[3] == "fails":
            raise ImportError("an import that fails")
except ImportError:
    seen["failed"] = True
print(json.dumps({**seen, "enabled after": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


def probe(kind: str, state: str, imports: str = "succeed") -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, kind, state, imports],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,  # this checkout's runner, whatever is installed
    ).stdout
    return json.loads(out)


def test_a_command_imports_with_the_collector_off_and_freezes_what_it_imported() -> None:
    seen = probe("command", "enabled")
    assert seen["enabled inside"] is False
    assert "collected" not in seen  # 3,000 allocations would have started a collection
    assert seen["enabled after"] is True
    assert isinstance(seen["frozen"], int) and seen["frozen"] > 10_000  # the interpreter's and the modules' objects


@pytest.mark.parametrize("state", ["enabled", "disabled"])
def test_a_library_caller_keeps_its_collector_as_it_was(state: str) -> None:
    seen = probe("library", state)
    assert seen["enabled inside"] is (state == "enabled")
    assert seen["enabled after"] is (state == "enabled")
    assert seen["frozen"] == 0  # a notebook's objects stay collectable
    assert ("collected" in seen) is (state == "enabled")  # the same allocations start one here


def test_a_command_whose_import_fails_has_its_collector_on_again() -> None:
    seen = probe("command", "enabled", "fails")
    assert seen["failed"] is True
    assert seen["enabled after"] is True
    assert isinstance(seen["frozen"], int) and seen["frozen"] > 10_000


def test_a_command_whose_collector_was_off_leaves_it_off() -> None:
    seen = probe("command", "disabled")
    assert seen["enabled after"] is False
    assert isinstance(seen["frozen"], int) and seen["frozen"] > 10_000
