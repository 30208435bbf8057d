#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the doctest unit tests (which replay the
# transcripts and fuzz crash files), the integration tests against the real daemon with real clients, the
# sample viewer page in headless Chromium, Mailpit's npm client against the Mailpit-compatible API, then the unit
# and integration tests again against an AddressSanitizer + UBSan build (build-asan), and the threaded ones
# against a ThreadSanitizer build (build-tsan), and every libFuzzer target for 20 s (tests/fuzz/run.sh all).
#   scripts/test.sh [STAGE...]   only these stages: unit integration page mailpit asan tsan fuzz (default: all)
# Ends with the line `tests: N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
all_stages=(unit integration page mailpit asan tsan fuzz)
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=("${all_stages[@]}")
for s in "${stages[@]}"; do
  [[ " ${all_stages[*]} " == *" $s "* ]] || { echo "usage: test.sh [${all_stages[*]}]..." >&2; exit 2; }
done
# Whether stage $1 was asked for.
wanted() { [[ " ${stages[*]} " == *" $1 "* ]]; }

scripts/install-deps.sh test || exit 1
if wanted unit || wanted integration || wanted page || wanted mailpit; then
  scripts/build.sh --tests || { echo "build failed"; echo "tests: 0 passed, 1 failed"; exit 1; }
fi

passed=0
failed=0
log=$(mktemp)
reports=$(mktemp -d)
trap 'rm -rf "$log" "$reports"' EXIT

# Adds the counts of the last line of $log that matches `PREFIX N passed ... N failed`; a suite that printed
# no such line counts as one failure, and so does one that exited non-zero ($3) with none failed (a sanitizer's
# leak report at exit comes after the summary).
count() {
  local name=$1 prefix=$2 rc=${3:-0} line p f
  line=$(grep -E "^${prefix}.*[0-9]+ passed.*[0-9]+ failed" "$log" | tail -n 1)
  if [ -z "$line" ]; then
    echo "$name did not report a summary"
    failed=$((failed + 1))
    return
  fi
  p=$(echo "$line" | sed -E 's/.*[^0-9]([0-9]+) passed.*/\1/')
  f=$(echo "$line" | sed -E 's/.*[^0-9]([0-9]+) failed.*/\1/')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "$name exited with $rc after reporting no failure"
    f=1
  fi
  passed=$((passed + p))
  failed=$((failed + f))
}

# Prints how long the stage that began at $1 (in $SECONDS) took.
took() { echo "stage $2: $((SECONDS - $1))s"; }

# Exports the run-time options of sanitizer $1 (address or thread): the first finding ends the process with exit
# code 86 and a stack trace, in the file $reports/report.PID (the integration runner fails the test that made it)
# or, with $2 = stderr, on stderr. Suppressions: tests/sanitizers/*.supp, third-party code only.
sanitizer_env() {
  local supp=$PWD/tests/sanitizers common="halt_on_error=1:exitcode=86:print_stacktrace=1"
  [ "${2:-}" = stderr ] || common+=":log_path=$reports/report"
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS TSAN_OPTIONS
  # GLib's slice allocator (under GMime) recycles blocks between threads through futex locks no sanitizer sees, so
  # a block parsed on one inspection thread then another reads as a race; plain malloc is what the sanitizers know.
  export G_SLICE=always-malloc
  if [ "$1" = address ]; then
    # quarantine_size_mb: freed memory held back to catch a use after free, 32 MiB rather than 256, so that
    # test_in_flight's RSS bound (which adds it) still tells a bounded daemon from an unbounded one.
    export ASAN_OPTIONS="$common:detect_leaks=1:check_initialization_order=1:strict_init_order=1"
    ASAN_OPTIONS+=":quarantine_size_mb=32"
    export UBSAN_OPTIONS="$common:suppressions=$supp/ubsan.supp"
    export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
  else
    export TSAN_OPTIONS="$common:second_deadlock_stack=1:suppressions=$supp/tsan.supp"
  fi
}

# The unit tests in build directory $1 (doctest options after it), counted under the name $2.
unit_stage() {
  local dir=$1 name=$2 rc
  shift 2
  "$dir/tests/unit-tests" --no-intro=true "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  # doctest prints "[doctest] test cases: N | N passed | N failed | N skipped".
  count "$name" '\[doctest\] test cases:' "$rc"
}

# The integration tests against the daemon of build directory $1 (run.py options after it), counted under $2.
integration_stage() {
  local dir=$1 name=$2 rc
  shift 2
  python3 tests/integration/run.py --binary "$dir/smtp-blackhole" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  count "$name" 'integration: ' "$rc"
}

if wanted unit; then
  t0=$SECONDS
  unit_stage build "unit tests"
  took $t0 unit
fi

if wanted integration; then
  t0=$SECONDS
  integration_stage build "integration tests"
  took $t0 integration
fi

if wanted page; then
  # The sample viewer in headless Chromium: tests/page/run.sh prints "page: N passed, N failed".
  t0=$SECONDS
  tests/page/run.sh 2>&1 | tee "$log"
  count "page test" 'page: ' "${PIPESTATUS[0]}"
  took $t0 page
fi

if wanted mailpit; then
  # Mailpit's own client (mailpit-api from npm): tests/mailpit/run.sh prints "mailpit: N passed, N failed".
  t0=$SECONDS
  tests/mailpit/run.sh 2>&1 | tee "$log"
  count "mailpit test" 'mailpit: ' "${PIPESTATUS[0]}"
  took $t0 mailpit
fi

# A sanitizer stage: builds with sanitizer $1 into $2, runs the unit tests ($3: doctest filters, if any) and the
# integration tests ($4: run.py's -k filters, if any) under it with the timeouts stretched by $5, named $6.
sanitizer_stage() {
  local sanitizer=$1 dir=$2 unit_filter=$3 integration_filter=$4 factor=$5 name=$6 t0=$SECONDS
  if ! scripts/build.sh --sanitize "$sanitizer"; then
    echo "$name build failed"
    failed=$((failed + 1))
    return
  fi
  took $t0 "$name build"
  t0=$SECONDS
  sanitizer_env "$sanitizer" stderr
  # shellcheck disable=SC2086  # the filters are lists of words
  unit_stage "$dir" "$name unit tests" $unit_filter
  took $t0 "$name unit"
  t0=$SECONDS
  sanitizer_env "$sanitizer"
  # shellcheck disable=SC2086
  TEST_TIMEOUT_FACTOR=$factor integration_stage "$dir" "$name integration tests" $integration_filter
  took $t0 "$name integration"
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS TSAN_OPTIONS G_SLICE
}

# AddressSanitizer and UBSan: every unit test and every integration test.
wanted asan && sanitizer_stage address build-asan '' '' 3 asan

# ThreadSanitizer: the tests whose threads share the flow table, the counters, the capture ring, the fault table,
# the HTTP thread, the inspection threads and the long-poll waits (test_in_flight's memory test is left to the
# other stages: TSan's shadow memory is part of the RSS it measures), and the load generator's threads.
tsan_unit='-sf=*test_flows.cpp,*test_flow_resets.cpp,*test_capture*.cpp,*test_counters.cpp,*test_fault_table.cpp'
tsan_integration='-k test_flows. -k test_capture. -k test_http. -k test_in_flight.TestResetsInFlight
  -k test_mailpit. -k test_inspect. -k test_faults_api. -k test_loadgen.'
wanted tsan && sanitizer_stage thread build-tsan "$tsan_unit" "$tsan_integration" 5 tsan

if wanted fuzz; then
  # Every libFuzzer target (tests/fuzz/run.sh) for FUZZ_SECONDS (default 20) from its seed corpus: each target a
  # test, failed when it does not build or finds a crash, a leak, a timeout or a broken property (its input is left
  # in tests/fuzz/TARGET-crash-*; move it into the corpus so the unit tests replay it). libFuzzer's progress lines,
  # its newly covered functions and its recommended dictionary stay in the log; everything else, a report in full,
  # is printed.
  t0=$SECONDS
  # A fixed seed (FUZZ_SEED, default 1): every CI run tries the same inputs as long as the code and the corpus stay
  # the same, so a finding is the change's and reproducible; FUZZ_SEED=0 draws a new seed each run.
  FUZZ_SEED=${FUZZ_SEED:-1} tests/fuzz/run.sh all "${FUZZ_SECONDS:-20}" 2>&1 | tee "$log" |
    grep -vE '^(#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED|RELOAD)|"|###### |[[:space:]]+NEW_FUNC)'
  count "fuzz run" 'fuzz: ' "${PIPESTATUS[0]}"
  took $t0 fuzz
fi

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
