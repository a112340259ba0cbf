# Two commands for everything:
#   make lab    create .venv with the pinned versions and open the course in JupyterLab
#   make test   create/reuse .venv and run the whole test suite (see README: "Testing")
# Quicker loop while editing: make check   (lint + helper tests + every notebook once)

SHELL := /bin/bash
.DEFAULT_GOAL := help

# The interpreter that builds .venv: the first Python 3.11+ found, or PYTHON=... to choose.
PYTHON ?= $(shell for p in python3.11 python3.12 python3.13 python3; do \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { command -v $$p; break; }; done)
# A second interpreter for the Python 3.13 leg of the suite (skipped, with a note, if absent).
PYTHON313 ?= $(shell for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13; do \
	  $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null && { echo $$p; break; }; done)

VENV := .venv
PY := $(VENV)/bin/python
VENV313 := .venv313
PY313 := $(VENV313)/bin/python
OUT := test-output

# nbval: run every notebook in notebooks/ (found automatically); compare only cells marked
# NBVAL_CHECK_OUTPUT. --nbval-cell-timeout fails a hung cell instead of blocking the suite.
NBVAL_ARGS := --nbval-lax --nbval-current-env --nbval-cell-timeout=240 -p no:cacheprovider -q
# Test runs use small calibrated workloads.
TEST_ENV := COURSE_QUICK=1

.PHONY: help venv lab test check lint unit notebooks notebooks-spawn notebooks-forkserver \
	notebooks-one-cpu notebooks-py313 hostile browser leftovers clean

help:
	@echo "make lab    open the course in JupyterLab (creates .venv on first use)"
	@echo "make test   run the whole test suite (creates .venv on first use)"
	@echo "make check  quicker loop: lint, helper tests, every notebook once"

$(VENV)/.installed: requirements.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed; install it, or run make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

venv: $(VENV)/.installed

$(VENV313)/.installed: requirements.txt pyproject.toml
	$(PYTHON313) -m venv $(VENV313)
	$(PY313) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY313) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

lab: venv
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/00_welcome.ipynb

lint: venv
	$(VENV)/bin/ruff check helpers tests benchmarks

unit: venv
	$(TEST_ENV) $(PY) -m pytest tests --ignore=tests/browser --ignore=tests/hostile -q

notebooks: venv
	$(TEST_ENV) $(PY) -m pytest $(NBVAL_ARGS) notebooks

notebooks-spawn: venv
	$(TEST_ENV) COURSE_START_METHOD=spawn $(PY) -m pytest $(NBVAL_ARGS) notebooks

notebooks-forkserver: venv
	$(TEST_ENV) COURSE_START_METHOD=forkserver $(PY) -m pytest $(NBVAL_ARGS) notebooks

notebooks-one-cpu: venv
	$(TEST_ENV) taskset -c 0 $(PY) -m pytest $(NBVAL_ARGS) notebooks

notebooks-py313:
	@if [ -z "$(PYTHON313)" ]; then echo "SKIPPED: no python3.13 on this machine (the 3.13 leg needs one)"; \
	else $(MAKE) --no-print-directory $(VENV313)/.installed && \
	  $(TEST_ENV) $(PY313) -m pytest $(NBVAL_ARGS) notebooks; fi

hostile: venv
	$(TEST_ENV) $(PY) -m pytest tests/hostile -q -rs

browser: venv
	$(TEST_ENV) $(PY) -m pytest tests/browser -q -rs

leftovers: venv
	$(PY) tests/check_leftovers.py

check: lint unit notebooks

test: lint unit notebooks notebooks-spawn notebooks-forkserver notebooks-one-cpu notebooks-py313 \
	hostile browser leftovers

clean:
	rm -rf $(VENV) $(VENV313) $(OUT) *.egg-info
