#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the doctest unit tests (which replay the
# transcripts and fuzz crash files) and the integration tests against the real daemon with real clients.
# Ends with the line `tests: N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1
scripts/build.sh || { echo "build failed"; echo "tests: 0 passed, 1 failed"; exit 1; }

passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Unit tests: doctest prints "[doctest] test cases: N | N passed | N failed | N skipped".
build/tests/unit-tests --no-intro=true 2>&1 | tee "$log"
line=$(grep '^\[doctest\] test cases:' "$log" | tail -n 1)
if [ -z "$line" ]; then
  echo "unit tests did not report a summary"
  failed=$((failed + 1))
else
  p=$(echo "$line" | sed -E 's/.*\| *([0-9]+) passed.*/\1/')
  f=$(echo "$line" | sed -E 's/.*\| *([0-9]+) failed.*/\1/')
  passed=$((passed + p))
  failed=$((failed + f))
fi

# Integration tests: tests/integration/run.py prints "integration: N passed, N failed".
python3 tests/integration/run.py --binary build/smtp-blackhole 2>&1 | tee "$log"
line=$(grep -E '^integration: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
if [ -z "$line" ]; then
  echo "integration tests did not report a summary"
  failed=$((failed + 1))
else
  p=$(echo "$line" | sed -E 's/^integration: ([0-9]+) passed.*/\1/')
  f=$(echo "$line" | sed -E 's/.*passed, ([0-9]+) failed.*/\1/')
  passed=$((passed + p))
  failed=$((failed + f))
fi

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
