# Shortcuts for the commands the README documents; each is one line you can also type.
PYTHON ?= python
DIR ?= $(lastword $(sort $(wildcard outputs/sweeps/*/*)))

.PHONY: install test test-fast lint sweep report benchmark

install:
	$(PYTHON) -m pip install -e '.[test]'

test:
	$(PYTHON) -m pytest

test-fast:
	$(PYTHON) -m pytest -m "not slow"

lint:
	ruff check runner workloads hydra_plugins tests benchmarks
	ruff format --check runner workloads hydra_plugins tests benchmarks
	mypy

sweep:
	$(PYTHON) -m runner -m executor=thread,process workers=1,2,4,8

report:
	$(PYTHON) -m runner.report $(DIR)

benchmark:
	$(PYTHON) benchmarks/fidelity.py --rounds 3
	$(PYTHON) benchmarks/noise.py
