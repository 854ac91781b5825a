# The two commands a newcomer needs: `make run` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
STAMP := $(VENV)/.installed
# Exact versions with every file's hash (Linux x86_64, CPython 3.11): the runtime's and runtime + dev tools'.
# pyproject.toml keeps the version ranges, for whoever installs the package itself.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links

.PHONY: run test test-fast test-pg test-faults test-cluster cluster cluster-down bench setup clean lint openapi screenshots lock lock-upgrade

# The hashed lock first (pip refuses a file whose hash is not in it), then the repository's own packages
# without dependencies and without build isolation (--require-hashes refuses local folders; setuptools is in the lock).
$(STAMP): pyproject.toml verifier/pyproject.toml $(DEV_LOCK)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r $(DEV_LOCK)
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/pip install -q --no-deps --no-build-isolation -e verifier
	touch $(STAMP)

# After changing the dependencies in pyproject.toml: `make lock` regenerates both locks, keeping every pin that
# still fits; `make lock-upgrade` moves every pin to the newest release the ranges allow. Commit both files.
# The runtime lock is compiled from a copy of the dev lock, so that it pins the same versions.
lock: $(STAMP)
	$(PIP_COMPILE) $(LOCK_ARGS) --extra dev -o $(DEV_LOCK) pyproject.toml
	cp $(DEV_LOCK) $(LOCK)
	$(PIP_COMPILE) -o $(LOCK) pyproject.toml

lock-upgrade:
	$(MAKE) lock LOCK_ARGS=--upgrade

setup: $(STAMP)
	$(BIN)/python scripts/compile-translations

run: setup
	PORT=$(PORT) $(BIN)/python -m wallet.demo.serve

test: setup
	bash scripts/test.sh

test-fast: setup
	WALLET_TEST_DB=sqlite $(BIN)/python -m pytest -q -n 2 -m "not browser and not s3" --ignore=tests/faults --ignore=tests/cluster

test-pg: setup
	WALLET_TEST_DB=postgresql $(BIN)/python -m pytest -q -n 2 -m "not browser" --ignore=tests/faults --ignore=tests/cluster

# fault drills (kill -9 a worker, stop the RGW, restart PostgreSQL: private instances) and a short fuzzing run
test-faults: setup
	bash scripts/test-faults.sh

# several nodes on this machine behind nginx, one Celery worker, PostgreSQL, Redis, a Ceph RGW (wallet/demo/cluster.py):
# returns once every part is ready, writing instance/cluster.json; CLUSTER_PORT (8080), CLUSTER_NODES (2)
cluster: setup
	$(BIN)/python -m wallet.demo.cluster up

cluster-down:
	$(BIN)/python -m wallet.demo.cluster down

# the cluster drill (tests/cluster): a cluster on a free port, sessions across nodes, a node killed under load,
# metrics, JSON logs; then cluster-down
test-cluster: setup
	bash scripts/test-cluster.sh

bench: setup
	bash scripts/bench.sh

# ruff; the import contracts in pyproject's [tool.importlinter]; mypy on the files in its [tool.mypy]
lint: setup
	$(BIN)/ruff check wallet signing config bench verifier
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy

openapi: setup
	$(BIN)/python -m wallet.openapi > docs/openapi.json

# every page in ar, fr and en at 360 x 760 into screenshots/<lang>/ (not committed): the demo on a free port with
# its instance in a temporary folder, Debian's Chromium through Playwright; about a minute and a half
screenshots: setup
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) instance .pytest_cache
