"""The commands that run the lab: ``python -m runner`` (runner/__main__.py) and the
``concurrency-lab`` script, which adds the reading subcommands.

Nothing heavy is imported here: a sweep's summary helper starts before Hydra is imported, so
that it imports pandas and matplotlib on the other CPU while Hydra composes
(runner/sweep/finishing.py).
"""

from __future__ import annotations

import importlib
import os
import sys

from runner import collector
from runner.commands import SUBCOMMANDS


def sweep(argv: list[str]) -> None:
    """The Hydra app on ``argv``, its summary's helper started first."""
    collector.command()
    from runner.sweep import finishing

    finishing.start(argv)
    with collector.importing():
        from runner.cli import main

    main(argv)


def _subcommand_completion(argv: list[str]) -> bool:
    """Answer a tab-completion query (Hydra's ``-sc query=bash``) about a subcommand's line: with no
    candidates, so the shell completes file names (Hydra's script asks with ``-o default``), where
    Hydra would read ``report`` as a malformed override and print its error into the terminal;
    and the subcommands a first word begins, before Hydra adds its keys. True where answered."""
    if not {"-sc", "--shell-completion"} & set(argv):
        return False
    line = os.environ.get("COMP_LINE", "")
    words = line.split()
    if len(words) > 1 and words[1] in SUBCOMMANDS and (len(words) > 2 or line.endswith(" ")):
        return True
    begun = [name for name in SUBCOMMANDS if len(words) == 2 and not line.endswith(" ") and name.startswith(words[1])]
    if begun:
        print(" ".join(begun), flush=True)
    return False


def script() -> None:
    """The ``concurrency-lab`` command: ``python -m runner``, plus the reading subcommands."""
    argv = sys.argv[1:]
    if _subcommand_completion(argv):
        return
    if argv and argv[0] in SUBCOMMANDS:
        collector.command()
        with collector.importing():
            module = importlib.import_module(SUBCOMMANDS[argv[0]])
        sys.exit(module.main([f"concurrency-lab {argv[0]}", *argv[1:]]))
    sweep(argv)
