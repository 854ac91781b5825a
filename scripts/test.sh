#!/usr/bin/env bash
# `make test`: the whole suite, on SQLite and on PostgreSQL, with the real S3 server and Chromium when present.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export PYTHONDONTWRITEBYTECODE=1

echo "== lint (ruff; import contracts; mypy on wallet, signing, config: see pyproject.toml)"
$BIN/ruff check wallet signing config bench || exit 1
$BIN/lint-imports --no-logo || exit 1
$BIN/mypy || exit 1

# PostgreSQL: the machine's server (tests create their own databases)
if ! $BIN/python -c "import psycopg; psycopg.connect('host=127.0.0.1 user=postgres dbname=postgres', connect_timeout=3).close()" 2>/dev/null; then
  echo "PostgreSQL is not reachable on 127.0.0.1:5432 (.ci/run starts it)"; exit 1
fi

# a real S3 server (one-node Ceph RADOS Gateway) for the storage tests
if [ -x scripts/s3-server.sh ]; then
  if out=$(scripts/s3-server.sh start 2>&1); then
    eval "$(scripts/s3-server.sh env)"
  else
    echo "warning: the Ceph S3 server did not start; S3 tests run against moto only:"; echo "$out" | tail -5
  fi
fi

# translations and browser test assets
$BIN/python scripts/compile-translations || exit 1
if [ -f frontend/package.json ] && [ ! -d frontend/node_modules/axe-core ]; then
  (cd frontend && npm ci --no-audit --no-fund --silent >/dev/null 2>&1 || npm install --no-audit --no-fund --silent >/dev/null 2>&1) || true
fi

# tests/faults (fault drills, minutes of gunicorn restarts) run in `make test-faults`, tests/cluster in
# `make test-cluster`, not here
export WALLET_TEST_PKI_CACHE=$(mktemp -d)
trap 'rm -rf "$WALLET_TEST_PKI_CACHE"' EXIT
rc=0
echo "== suite on SQLite (unit, API, storage, browser)"
WALLET_TEST_DB=sqlite $BIN/python -m pytest -n 2 -q -p no:cacheprovider --ignore=tests/faults --ignore=tests/cluster "$@" || rc=1
echo "== suite on PostgreSQL"
WALLET_TEST_DB=postgresql $BIN/python -m pytest -n 2 -q -p no:cacheprovider -m "not browser and not nodb" \
  --ignore=tests/faults --ignore=tests/cluster "$@" || rc=1
exit $rc
