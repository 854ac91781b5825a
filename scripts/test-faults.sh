#!/usr/bin/env bash
# `make test-faults`: the fault drills (tests/faults: gunicorn, a private PostgreSQL cluster, a private Ceph RGW)
# and a short coverage-guided fuzzing run of validation and of the upload path (tests/fuzz, docs/fuzzing.md).
# Every part a drill breaks is started here on its own ports and folders; the shared services are not touched.
# Budget: drills ≤ 6 min, fuzzing 2 × 50 s (+ start-up); FAULTS_FUZZ_SECONDS overrides the per-target time.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export PYTHONDONTWRITEBYTECODE=1
rc=0

echo "== fault drills (tests/faults)"
timeout 420 $BIN/python -m pytest -q -p no:cacheprovider -rs tests/faults || rc=1

FUZZ_SECONDS=${FAULTS_FUZZ_SECONDS:-50}
FUZZ_WORK=$(mktemp -d /tmp/faults-fuzz.XXXXXX)
trap 'rm -rf "$FUZZ_WORK"' EXIT
for target in validate upload; do
  echo "== fuzzing $target for ${FUZZ_SECONDS}s (tests/fuzz/fuzz_validate.py)"
  # -timeout: one input may not take 30 s; a crash, a timeout or an out-of-memory input fails the target
  if ! timeout $((FUZZ_SECONDS + 150)) $BIN/python -m tests.fuzz.fuzz_validate --target "$target" --work "$FUZZ_WORK" \
       -- -max_total_time="$FUZZ_SECONDS" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
       >"$FUZZ_WORK/$target.log" 2>&1; then
    rc=1
    echo "fuzzing $target FAILED; the input is kept as:"
    mkdir -p build/fuzz-artifacts && cp -v "$FUZZ_WORK"/artifacts/* build/fuzz-artifacts/ 2>/dev/null
    grep -v '^INFO: Instrumenting' "$FUZZ_WORK/$target.log" | tail -40
  else
    grep -E '^stat::number_of_executed_units|^Done ' "$FUZZ_WORK/$target.log" | tail -2
  fi
done
exit $rc
