#!/usr/bin/env bash
# `make test-cluster`: the cluster drill (tests/cluster): `make cluster` on a free port with its folder under a
# temporary CLUSTER_HOME (a cluster you run yourself is not touched), sessions across nodes, a node killed under
# load, metrics, JSON logs with the request id; the cluster is stopped at the end. Bounded: 9 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONDONTWRITEBYTECODE=1 WALLET_CLUSTER_DRILL=1
timeout -k 20 540 .venv/bin/python -m pytest -q -p no:cacheprovider -rs tests/cluster "$@"
