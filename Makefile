# The two commands a newcomer needs: `make run` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
STAMP := $(VENV)/.installed

.PHONY: run test test-fast test-pg test-faults bench setup clean lint openapi

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)
	$(BIN)/python scripts/compile-translations

run: setup
	PORT=$(PORT) $(BIN)/python -m wallet.demo.serve

test: setup
	bash scripts/test.sh

test-fast: setup
	WALLET_TEST_DB=sqlite $(BIN)/python -m pytest -q -n 2 -m "not browser and not s3" --ignore=tests/faults

test-pg: setup
	WALLET_TEST_DB=postgresql $(BIN)/python -m pytest -q -n 2 -m "not browser" --ignore=tests/faults

# fault drills (kill -9 a worker, stop the RGW, restart PostgreSQL: private instances) and a short fuzzing run
test-faults: setup
	bash scripts/test-faults.sh

bench: setup
	bash scripts/bench.sh

lint: setup
	$(BIN)/ruff check wallet signing config bench
	$(BIN)/mypy signing

openapi: setup
	$(BIN)/python -m wallet.openapi > docs/openapi.json

clean:
	rm -rf $(VENV) instance .pytest_cache
