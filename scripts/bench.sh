#!/usr/bin/env bash
# `make bench`: the benchmarks of issue 5, against a production-shaped instance (gunicorn from the Procfile's
# config, PostgreSQL on 127.0.0.1:5432, local blob store, rate limits off); rewrites docs/benchmarks.md.
#   BENCH_QUICK=1 make bench     a fast pass (fewer documents, 100k rows instead of 1M)
#   BENCH_SECTIONS=issuance,memory make bench    a subset
#   BENCH_SECTIONS=floor make bench    the counted look against its floor, SQLite and PostgreSQL (BENCH_FLOOR_DBS=sqlite: one)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export PYTHONDONTWRITEBYTECODE=1

if ! $BIN/python -c "import psycopg; psycopg.connect('host=127.0.0.1 user=postgres dbname=postgres', connect_timeout=3).close()" 2>/dev/null; then
  echo "PostgreSQL is not reachable on 127.0.0.1:5432 (user postgres, trust auth): start it (pg_ctlcluster 15 main start)" >&2
  exit 1
fi

# wrk: the load generator (Debian package)
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends wrk >/dev/null 2>&1 ||
      { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update >/dev/null 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends wrk >/dev/null 2>&1; } ||
      echo "warning: could not install wrk; the HTTP load rows will be skipped" >&2
  else
    echo "warning: wrk is not installed (apt-get install wrk); the HTTP load rows will be skipped" >&2
  fi
fi

# Lighthouse 12.8.2 (Node 20) under bench/node_modules; the system Chromium, never a downloaded one
if command -v npm >/dev/null 2>&1 && [ ! -f bench/node_modules/lighthouse/package.json ]; then
  # npm ci: exactly what package-lock.json pins (npm install would re-resolve "latest" ranges and rewrite it)
  (cd bench && npm ci --no-audit --no-fund --silent >/dev/null 2>&1) ||
    echo "warning: npm install in bench/ failed; the phone pages row will be skipped" >&2
fi
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}

# translations (the PWA's pages), as make test does
if [ -f scripts/compile-translations ]; then $BIN/python scripts/compile-translations >/dev/null || exit 1; fi

exec $BIN/python -m bench.run "$@"
