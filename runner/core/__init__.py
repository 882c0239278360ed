"""The measuring core: what runs in the cell's fresh interpreter (``python -m runner.core.cell``).

Standard library only (and ``workloads``), so that spawn and forkserver pay the start-up of a lean
program and a cell can run under an interpreter without the runner's dependencies. Imports nothing
from ``runner.sweep``, ``runner.results``, ``runner.claims`` or ``runner.report``
(tests/test_architecture.py).
"""
