#!/usr/bin/env bash
# Side-by-side benchmark: smtp-blackhole against postfix's smtp-sink, both driven by postfix's smtp-source.
#
# Eight shapes: {1, 100} messages per connection x {1, 50} concurrent sessions x {1 KiB, 100 KiB} payload.
# For each shape every server is started fresh, alone, on 127.0.0.1, then smtp-source sends a fixed number of
# messages to it. Measured per server and shape:
#   msg/s       messages / wall time of the smtp-source run(s)
#   msg/CPU-s   messages / (utime + stime of the server process over those runs, from /proc/PID/stat)
# A full run does every shape three times per server and reports the medians (see `rounds` below).
# Servers: smtp-blackhole --threads 1 (the per-CPU-second comparison: smtp-sink is one process), smtp-sink, and
# smtp-blackhole --threads 2 (msg/s only; the machine's cores are shared with the client).
# Every server's own message count is checked against what smtp-source sent: smtp-blackhole's final
# "msg=totals ... transactions=N" line, smtp-sink's -c counter ("mesg=N"). A mismatch is reported, never hidden.
#
# smtp-source has no "N messages per connection" option: with -d each session keeps its connection and the
# sessions share the run's -m total, so "100 msg/conn" runs `-d -s C -m 100*C` repeatedly (about 100 messages
# per connection; one smtp-source start per 100*C messages, the same for both servers). Without -d every
# message gets its own connection.
#
# Usage: bench/run.sh [--quick] [--out FILE] [--no-build]
#   --quick     smoke run: tiny counts, 10 instead of 100 msg/conn, done in a few seconds; prints only,
#               saves nothing unless --out is given
#   --out FILE  where to save the markdown (default: bench/results/YYYY-MM-DD-core.md for a full run)
#   --no-build  use build/smtp-blackhole as it is instead of running scripts/build.sh first
# Needs: postfix's /usr/sbin/smtp-source and /usr/sbin/smtp-sink, coreutils timeout, python3.
# Traffic goes to 127.0.0.1 only. Only processes this script starts are stopped, by PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/smtp-blackhole
SOURCE=/usr/sbin/smtp-source
SINK=/usr/sbin/smtp-sink
# bench_args, bench_setup, start_blackhole, start_sink, start_results, run_rounds, bench_report...
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

bench_args "$0" "$@"
bench_build

# Shapes: size_bytes concurrency msgs_per_conn total_messages. Totals put the slower server at a few seconds
# per shape and round; a "per conn > 1" total must be a multiple of per_conn * concurrency.
# Each shape runs `rounds` times against each server; rounds are spread over the whole run (round is the outer
# loop, and the server order rotates) and the report takes the median, so a burst of other load on the
# machine spoils one sample rather than a column.
if ((quick)); then
    per=10
    rounds=1
    budget=28           # seconds for the whole run, client timeouts included
    shapes=(
        "1024 1 1 200"       "1024 1 $per 200"       "1024 50 1 500"      "1024 50 $per 1000"
        "102400 1 1 100"     "102400 1 $per 100"     "102400 50 1 200"    "102400 50 $per 500"
    )
else
    per=100
    rounds=3
    budget=330
    shapes=(
        "1024 1 1 5000"      "1024 1 $per 10000"     "1024 50 1 15000"    "1024 50 $per 30000"
        "102400 1 1 3000"    "102400 1 $per 3000"    "102400 50 1 6000"   "102400 50 $per 10000"
    )
fi
client_timeout=120      # seconds, upper bound for one smtp-source run (also capped by what is left of budget)

bench_setup smtp-bench "$SOURCE" "$SINK" timeout python3

# Starts the server named $1 for run_rounds; sets kind.
start_server() {
    case $1 in
        blackhole-t1) start_blackhole 1; kind=blackhole ;;
        blackhole-t2) start_blackhole 2; kind=blackhole ;;
        smtp-sink) start_sink; kind=sink ;;
    esac
}

deadline=$((SECONDS + budget))
start_results

echo "smtp-blackhole vs smtp-sink, driven by smtp-source ($( ((quick)) && echo quick || echo full ) run," \
    "$rounds round(s))" >&2
run_rounds blackhole-t1 smtp-sink blackhole-t2

# Hardware cycle counters are often missing in VMs; say so rather than print made-up numbers.
if ! command -v perf >/dev/null; then
    perf_note="not measured (perf is not installed)"
elif perf stat -x, -e cycles true 2>&1 | grep -q 'not supported'; then
    perf_note="not measured (perf: the cycles counter is not supported on this machine)"
else
    perf_note="not measured (perf works here; not wired in)"
fi
bench_report core python3 "$ROOT/bench/report.py" "$results" --meta "perf=$perf_note"
# Exit status 1 when any server lost messages or any client run failed; the table is printed either way.
python3 "$ROOT/bench/report.py" "$results" --check
