#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the doctest unit tests (which replay the
# transcripts and fuzz crash files), the integration tests against the real daemon with real clients, the
# sample viewer page in headless Chromium, and Mailpit's npm client against the Mailpit-compatible API.
# Ends with the line `tests: N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test || exit 1
scripts/build.sh --tests || { echo "build failed"; echo "tests: 0 passed, 1 failed"; exit 1; }

passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Adds the counts of the last line of $log that matches `PREFIX N passed ... N failed`; a suite that printed
# no such line counts as one failure.
count() {
  local name=$1 prefix=$2 line p f
  line=$(grep -E "^${prefix}.*[0-9]+ passed.*[0-9]+ failed" "$log" | tail -n 1)
  if [ -z "$line" ]; then
    echo "$name did not report a summary"
    failed=$((failed + 1))
    return
  fi
  p=$(echo "$line" | sed -E 's/.*[^0-9]([0-9]+) passed.*/\1/')
  f=$(echo "$line" | sed -E 's/.*[^0-9]([0-9]+) failed.*/\1/')
  passed=$((passed + p))
  failed=$((failed + f))
}

# doctest prints "[doctest] test cases: N | N passed | N failed | N skipped".
build/tests/unit-tests --no-intro=true 2>&1 | tee "$log"
count "unit tests" '\[doctest\] test cases:'

python3 tests/integration/run.py --binary build/smtp-blackhole 2>&1 | tee "$log"
count "integration tests" 'integration: '

# The sample viewer in headless Chromium: tests/page/run.sh prints "page: N passed, N failed".
tests/page/run.sh 2>&1 | tee "$log"
count "page test" 'page: '

# Mailpit's own client (mailpit-api from npm): tests/mailpit/run.sh prints "mailpit: N passed, N failed".
tests/mailpit/run.sh 2>&1 | tee "$log"
count "mailpit test" 'mailpit: '

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
