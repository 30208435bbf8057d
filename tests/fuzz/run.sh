#!/usr/bin/env bash
# Builds a fuzz target with clang's libFuzzer, AddressSanitizer and UBSan, and runs it for SECONDS (default 60)
# on its corpus, tests/fuzz/corpus/TARGET/:
#   tests/fuzz/run.sh [SECONDS]          the session (tests/fuzz/session_fuzz.cpp)
#   tests/fuzz/run.sh TARGET [SECONDS]   one target, tests/fuzz/TARGET_fuzz.cpp:
#       session  the SMTP session             proxy    the PROXY header parser
#       reply    the client-reply parser      fault    the --fault rule parser
#       users    the --auth-users file        flowkey  the header reader and the flow-key extractors
#       http     HTTP requests and routing    mime     the MIME viewer (GMime, libxml2)
#   tests/fuzz/run.sh all [SECONDS]      every target in turn, SECONDS each, ending `fuzz: N passed, N failed`
#                                        (a target passes when it builds and finds nothing); fails if any fails
# A crash leaves tests/fuzz/TARGET-crash-*: move it into tests/fuzz/corpus/TARGET/ with a telling name so that the
# unit tests (test_fuzz_replay.cpp) replay it forever after.
set -euo pipefail
cd "$(dirname "$0")/../.."
targets=(session proxy reply fault users flowkey http mime)
target=session
if [[ ${1:-} =~ ^[a-z_]+$ ]]; then target=$1; shift; fi
seconds=${1:-60}
if [ "$target" = all ]; then
  failed=()
  for t in "${targets[@]}"; do
    if "$0" "$t" "$seconds"; then echo "fuzz target $t: passed"; else echo "fuzz target $t: FAILED"; failed+=("$t"); fi
  done
  echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
  [ ${#failed[@]} -eq 0 ] || { echo "run.sh: failed: ${failed[*]}" >&2; exit 1; }
  exit 0
fi
# What each target is built from (sources, then compiler and linker flags), and the longest input worth trying.
flags=()
case $target in
  session) sources=(src/smtp/*.cpp); max_len=4096 ;;
  proxy) sources=(src/proxy/*.cpp); max_len=1024 ;;
  reply) sources=(src/smtp/client_reply.cpp); max_len=4096 ;;
  fault) sources=(src/fault/rule.cpp src/cli/units.cpp src/sink/flow_key.cpp src/sink/header.cpp); max_len=1024 ;;
  users) sources=(src/server/auth.cpp); flags=($(pkg-config --cflags --libs openssl)); max_len=1024 ;;
  flowkey) sources=(src/sink/flow_key.cpp src/sink/header.cpp); max_len=4096 ;;
  http) sources=(src/http/routes.cpp src/http/rejection.cpp src/http/service.cpp src/third_party/boost_json_url.cpp)
        max_len=4096 ;;
  mime) sources=(src/inspect/*.cpp src/sink/*.cpp src/smtp/*.cpp)
        flags=($(pkg-config --cflags --libs gmime-3.0 libxml-2.0)); max_len=8192 ;;
  *) echo "run.sh: unknown target '$target' (${targets[*]}, all)" >&2; exit 2 ;;
esac
out=build/fuzz
mkdir -p "$out/corpus/$target"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -Isrc -Itests/fuzz \
  "tests/fuzz/${target}_fuzz.cpp" "${sources[@]}" "${flags[@]}" -o "$out/${target}_fuzz"
# FUZZ_SEED: libFuzzer's seed (0, the default: a new one each run; the same seed and corpus try the same inputs).
"$out/${target}_fuzz" -max_total_time="$seconds" -max_len="$max_len" -seed="${FUZZ_SEED:-0}" \
  -artifact_prefix="tests/fuzz/$target-" \
  "$out/corpus/$target" "tests/fuzz/corpus/$target"
