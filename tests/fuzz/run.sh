#!/usr/bin/env bash
# Builds a fuzz target with clang's libFuzzer, AddressSanitizer and UBSan, and runs it for SECONDS (default 60)
# on its corpus, tests/fuzz/corpus/TARGET/:
#   tests/fuzz/run.sh [SECONDS]          the session (tests/fuzz/session_fuzz.cpp)
#   tests/fuzz/run.sh TARGET [SECONDS]   session or proxy (the PROXY header parser, tests/fuzz/proxy_fuzz.cpp)
# A crash leaves tests/fuzz/TARGET-crash-*: move it into tests/fuzz/corpus/TARGET/ with a telling name so that the
# unit tests (test_fuzz_replay.cpp) replay it forever after.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=session
if [[ ${1:-} =~ ^[a-z_]+$ ]]; then target=$1; shift; fi
seconds=${1:-60}
# What each target is built from, and the longest input worth trying.
case $target in
  session) sources=(src/smtp/*.cpp); max_len=4096 ;;
  proxy) sources=(src/proxy/*.cpp); max_len=1024 ;;
  *) echo "run.sh: unknown target '$target' (session, proxy)" >&2; exit 2 ;;
esac
out=build/fuzz
mkdir -p "$out/corpus/$target"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -Isrc -Itests/fuzz \
  "tests/fuzz/${target}_fuzz.cpp" "${sources[@]}" -o "$out/${target}_fuzz"
"$out/${target}_fuzz" -max_total_time="$seconds" -max_len="$max_len" -artifact_prefix="tests/fuzz/$target-" \
  "$out/corpus/$target" "tests/fuzz/corpus/$target"
