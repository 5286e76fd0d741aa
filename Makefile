# Two commands do everything on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint services venv demo bench clean

$(STAMP): pyproject.toml examples/hello_plugin/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "difyd needs Python 3.11 or newer: make run PYTHON=python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e ".[test]" -e examples/hello_plugin
	touch $(STAMP)

venv: $(STAMP)

## make run: the server on the embedded default (SQLite, in-memory state, in-process jobs), with demo data.
## The first run seeds the demo and prints its password; later runs only say it exists.
run: $(STAMP)
	@$(BIN)/difyd database upgrade
	@$(BIN)/difyd demo --if-empty
	@$(BIN)/difyd run --no-migrate

## make demo: add the demo account, workspaces and apps (refused if they exist).
demo: $(STAMP)
	@$(BIN)/difyd database upgrade
	@$(BIN)/difyd demo

## make test: ruff, the type checker, then the whole suite on SQLite+memory and on PostgreSQL+Redis.
test: $(STAMP) services
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest
	@# The example plugin's own tests, on difyd's installed pytest plugin (core.testing), as any
	@# plugin package runs them.
	cd examples/hello_plugin && ../../$(BIN)/pytest -q

## make lint: what make test checks before the tests (ruff's rules and mypy). Formatting is not enforced.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

services:
	bash scripts/ensure-services.sh

bench: $(STAMP) services
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .data artifacts .pytest_cache
