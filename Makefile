# Two commands do everything on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint services venv demo bench clean

$(STAMP): pyproject.toml examples/hello_plugin/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e ".[test]" -e examples/hello_plugin
	touch $(STAMP)

venv: $(STAMP)

## make run: the server on the embedded default (SQLite, in-memory state, in-process jobs), with demo data.
run: $(STAMP)
	$(BIN)/difyd database upgrade
	$(BIN)/difyd demo --if-empty
	$(BIN)/difyd run

## make test: ruff, then the whole suite on SQLite+memory and on PostgreSQL+Redis.
test: $(STAMP) services
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true

services:
	bash scripts/ensure-services.sh

bench: $(STAMP) services
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .data artifacts .pytest_cache
