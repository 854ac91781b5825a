#!/usr/bin/env bash
# The Procfile's web process. With no DATABASE_URL it serves the embedded default (SQLite + local blobs +
# demo PKI under instance/), preparing it first; in production it only starts gunicorn (release migrates).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python)}
if [ -z "${DATABASE_URL:-}" ]; then
  umask 077  # the embedded default keeps its database, WAL, blobs and keys under instance/: its user's only
  "$PYTHON" -m wallet.demo.prepare
fi
exec "$PYTHON" -m gunicorn -c config/gunicorn.conf.py 'wallet:create_app()'
