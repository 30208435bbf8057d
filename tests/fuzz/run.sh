#!/usr/bin/env bash
# Builds the session fuzzer with clang's libFuzzer and AddressSanitizer and runs it for SECONDS (default 60)
# on tests/fuzz/corpus. A crash leaves crash-* here: move it into tests/fuzz/corpus/ with a telling name so
# that the unit tests (test_fuzz_replay.cpp) replay it forever after.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
out=build/fuzz
mkdir -p "$out" "$out/corpus"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -Isrc -Itests/fuzz \
  tests/fuzz/session_fuzz.cpp src/smtp/*.cpp -o "$out/session_fuzz"
"$out/session_fuzz" -max_total_time="$seconds" -max_len=4096 -artifact_prefix=tests/fuzz/ \
  "$out/corpus" tests/fuzz/corpus
