"""The commands that run the lab: ``python -m runner`` (runner/__main__.py) and the
``concurrency-lab`` script, which adds the reading subcommands.

Nothing heavy is imported here: a sweep's summary helper starts before Hydra is imported, so
that it imports pandas and matplotlib on the other CPU while Hydra composes
(runner/sweep/finishing.py).
"""

from __future__ import annotations

import importlib
import sys

from runner.exiting import without_final_collection

# ``concurrency-lab NAME ...`` runs ``python -m runner.NAME ...`` (the module whose ``main`` that runs);
# anything else is the Hydra app.
SUBCOMMANDS = {"report": "runner.report.sections", "compare": "runner.compare.cli", "replay": "runner.replay"}


def sweep(argv: list[str]) -> None:
    """The Hydra app on ``argv``, its summary's helper started first."""
    from runner.sweep import finishing

    finishing.start(argv)
    from runner.cli import main

    without_final_collection()
    main(argv)


def script() -> None:
    """The ``concurrency-lab`` command: ``python -m runner``, plus the reading subcommands."""
    argv = sys.argv[1:]
    if argv and argv[0] in SUBCOMMANDS:
        without_final_collection()
        module = importlib.import_module(SUBCOMMANDS[argv[0]])
        sys.exit(module.main([f"concurrency-lab {argv[0]}", *argv[1:]]))
    sweep(argv)
