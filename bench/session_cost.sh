#!/usr/bin/env bash
# Instructions per message of the session and its observer alone (bench/session_cost.cpp: no socket, no event
# loop), in the working tree and in a base revision, side by side: a deterministic check that a change to the
# message path costs what it should. Each tree's src/smtp, src/sink (and src/fault with src/cli/units.cpp, when
# the tree has them) is compiled with the harness (g++ -O3, as the release build), then run under
# `valgrind --tool=callgrind` for two message counts; instr/msg is the difference of their totals over the
# difference of the counts, so start-up and set-up cancel out. Two shapes: 1 KiB messages all on one connection,
# and one message per connection (greeting, EHLO and QUIT included).
#
# Usage: bench/session_cost.sh [BASE_REV]   (default HEAD: the uncommitted change against it)
# Needs: g++, valgrind, git. Prints a markdown table; writes nothing in the tree.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASE=${1:-HEAD}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Compiles the harness against the src/ in $1 into $2.
build() {
    local src=$1 out=$2
    local -a files=("$src"/smtp/*.cpp "$src"/sink/*.cpp)
    if [[ -d $src/fault ]]; then files+=("$src"/fault/*.cpp "$src"/cli/units.cpp); fi
    g++ -std=c++20 -O3 -DNDEBUG -pthread -I "$src" "$ROOT/bench/session_cost.cpp" "${files[@]}" -o "$out"
}

# Total Ir of one run of binary $1 with $2 messages, $3 per connection.
ir() {
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" --log-file=/dev/null "$1" "$2" "$3" >/dev/null
    sed -n 's/^totals: *\([0-9][0-9]*\).*/\1/p' "$work/cg.out"
}

# Instructions per message of binary $1, $2 messages to a connection.
per_message() {
    local small=1000 large=5000
    echo $((($(ir "$1" $large "$2") - $(ir "$1" $small "$2")) / (large - small)))
}

mkdir -p "$work/base"
git -C "$ROOT" archive "$BASE" src | tar -x -C "$work/base"
echo "compiling $BASE and the working tree..." >&2
build "$work/base/src" "$work/base.bin"
build "$ROOT/src" "$work/tree.bin"
echo "| shape | $BASE instr/msg | working tree instr/msg | difference |"
echo "| --- | ---: | ---: | ---: |"
for shape in "1 KiB, one connection:5000" "1 KiB, one message per connection:1"; do
    per=${shape##*:}
    b=$(per_message "$work/base.bin" "$per")
    t=$(per_message "$work/tree.bin" "$per")
    echo "| ${shape%%:*} | $b | $t | $((t - b)) ($(python3 -c "print(f'{($t - $b) / $b * 100:+.2f}%')")) |"
done
