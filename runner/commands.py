"""The reading commands: ``concurrency-lab NAME ...`` runs ``python -m runner.NAME ...``, the module
whose ``main`` that runs (runner/console.py); anything else is the Hydra app (runner/cli.py, which
names them where a first word is neither an override nor one of them)."""

SUBCOMMANDS = {"report": "runner.report.sections", "compare": "runner.compare.cli", "replay": "runner.replay"}
