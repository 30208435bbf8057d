#!/usr/bin/env bash
# The floor benchmark: smtp-blackhole beside the cheapest thing that can answer postfix's smtp-source at all.
#
# The floor (bench/floor.cpp) is a single-threaded epoll loop with canned replies that looks only for line ends
# and, in DATA, for CR LF . CR LF (a byte at a time): a measuring stick, not a server. smtp-source waits for each
# reply, so most of any server's cost here is the kernel's loopback TCP; the floor shows how much. The floor over
# Asio (bench/floor_asio.cpp) gives the same replies through Boost.Asio as the daemon uses it (one io_context,
# async_accept, a shared_ptr connection, async_read_some): between it and the floor is what the event loop costs,
# between the daemon and it what the daemon's own work costs (SMTP, counting, capturing, timeouts).
# Eight shapes: {1 msg/conn, persistent (-d: every session keeps its connection for the whole run)} x {10, 100}
# concurrent sessions x {1 KiB, 100 KiB}. For each shape five servers are started fresh, alone, on 127.0.0.1,
# and smtp-source sends a fixed number of messages to each: the floor, the floor over Asio, smtp-blackhole
# --threads 1, smtp-blackhole with its default --threads (one per CPU), and postfix's smtp-sink (one process).
# Measured per server and shape:
#   msg/s       messages / wall time of the smtp-source run
#   msg/CPU-s   messages (transactions) / (utime + stime of the server process, all threads, from /proc/PID/stat)
# and the ratios blackhole/floor, blackhole/Asio floor, Asio floor/floor and blackhole/smtp-sink. A full run
# does every shape three times per server and reports medians. Every server's own count is checked against what smtp-source sent: the floor's and
# smtp-blackhole's "msg=totals ... transactions=N" line, smtp-sink's -c counter.
#
# With --syscalls, one more pass of every shape and server follows, the server under `strace -c -f` (every system
# call of its threads from the first message to its exit; a traced server is too slow for the CPU tables, so this
# pass counts only): system calls per message by kind, the floor's beside the daemon's. The counts hardly move
# between runs or machines, unlike CPU time.
#
# Usage: bench/floor.sh [--quick] [--out FILE] [--no-build] [--syscalls]
#   --quick     smoke run: tiny counts, one round, done in under a minute; prints only, saves nothing unless
#               --out is given
#   --syscalls  the pass under strace (needs strace; about 2 more minutes for a full run)
#   --out FILE  where to save the markdown (default: bench/results/YYYY-MM-DD-floor.md for a full run)
#   --no-build  use build/smtp-blackhole as it is instead of running scripts/build.sh first (both floors are
#               compiled with g++ -O2 into the scratch folder on every run either way: it takes seconds)
# Needs: postfix's /usr/sbin/smtp-source and /usr/sbin/smtp-sink, g++, Boost's headers (Asio), coreutils
# timeout, python3.
# Traffic goes to 127.0.0.1 only. Only processes this script starts are stopped, by PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/smtp-blackhole
SOURCE=/usr/sbin/smtp-source
SINK=/usr/sbin/smtp-sink
# bench_args, bench_setup, start_logged, start_blackhole, start_sink, start_results, run_rounds, bench_report...
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

BENCH_FLAGS="--syscalls"
bench_args "$0" "$@"
syscalls=${flag[--syscalls]:-0}
bench_build

# Shapes: size_bytes concurrency per_conn total_messages, as run_shape takes them: per_conn 1 is a connection a
# message; a persistent shape has per_conn x concurrency = total (one `smtp-source -d` run, every session keeping
# its connection to the end; per_conn at least 2). A full run's totals put the slowest server (smtp-sink at
# 100 KiB) at a few seconds per shape and round and the fastest near one server CPU-second at 1 KiB, so a clock
# tick is about 1%; rounds are spread over the run and the server order rotates, as in run.sh.
if ((quick)); then
    rounds=1
    budget=110          # seconds for the whole run, client timeouts included
    shapes=(
        "1024 10 1 200"      "1024 100 1 200"     "1024 10 50 500"     "1024 100 5 500"
        "102400 10 1 100"    "102400 100 1 100"   "102400 10 20 200"   "102400 100 2 200"
    )
else
    rounds=3
    budget=600
    shapes=(
        "1024 10 1 15000"    "1024 100 1 15000"   "1024 10 4000 40000" "1024 100 400 40000"
        "102400 10 1 8000"   "102400 100 1 8000"  "102400 10 1000 10000" "102400 100 100 10000"
    )
fi
client_timeout=120      # seconds, upper bound for one smtp-source run (also capped by what is left of budget)

# The --syscalls pass: a shape sends at most this many messages (a persistent one in a single run, with fewer
# messages a connection when needed).
syscall_messages=$( ((quick)) && echo 200 || echo 3000 )

tools=("$SOURCE" "$SINK" g++ timeout python3)
if ((syscalls)); then tools+=(strace); fi
bench_setup smtp-floor "${tools[@]}"
FLOOR=$work/floor
FLOOR_ASIO=$work/floor_asio
g++ -std=c++20 -O2 -Wall -Wextra "$ROOT/bench/floor.cpp" -o "$FLOOR"
g++ -std=c++20 -O2 -Wall -Wextra "$ROOT/bench/floor_asio.cpp" -o "$FLOOR_ASIO"

# Starts floor binary $1; sets server_pid and port (its stderr, in smtp-blackhole's format, goes to
# $work/server.err).
start_floor() {
    start_logged "$work/server.err" 100 "$1" && return 0
    echo "floor.sh: $(basename "$1") did not start:" >&2
    cat "$work/server.err" >&2
    exit 1
}

# Starts the server named $1 for run_rounds; sets kind.
start_server() {
    case $1 in
        floor) start_floor "$FLOOR"; kind=log ;;
        floor-asio) start_floor "$FLOOR_ASIO"; kind=log ;;
        blackhole-t1) start_blackhole 1; kind=log ;;
        blackhole) start_blackhole; kind=log ;;
        smtp-sink) start_sink; kind=sink ;;
    esac
}

# The --syscalls pass: each shape once per server, the server under `strace -c -f` from before the first message
# until it exits (run_shape stops it); the summaries in $work/strace/SIZE-CONC-PER_CONN-SERVER, the rows (for the
# message counts) in $work/syscalls.tsv.
syscall_pass() {
    local shape size conc per_conn total server trace i cpu_results=$results
    mkdir -p "$work/strace"
    results=$work/syscalls.tsv
    head -n1 "$cpu_results" >"$results"  # run_shape's header
    round=1
    for shape in "${shapes[@]}"; do
        read -r size conc per_conn total <<<"$shape"
        if ((per_conn > 1)); then  # one run, fewer messages a connection (at least 2)
            per_conn=$((per_conn * conc > syscall_messages ? syscall_messages / conc : per_conn))
            ((per_conn >= 2)) || per_conn=2
            total=$((per_conn * conc))
        elif ((total > syscall_messages)); then
            total=$syscall_messages
        fi
        echo "system calls: $((size / 1024)) KiB, $per_conn msg/conn, concurrency $conc, $total messages" >&2
        for server in floor floor-asio blackhole-t1 blackhole smtp-sink; do
            start_server "$server"
            trace=$work/strace/$size-$conc-$per_conn-$server
            strace -c -f -o "$trace" -p "$server_pid" 2>"$trace.log" &
            perf_pid=$!  # bench_cleanup stops it on an early exit
            for ((i = 0; i < 100; i++)); do
                grep -q attached "$trace.log" && break
                sleep 0.05
            done
            run_shape "$server" "$kind" "$size" "$conc" "$per_conn" "$total"
            wait "$perf_pid" || true  # strace ends with the server it traced
            perf_pid=""
        done
    done
    results=$cpu_results
}

deadline=$((SECONDS + budget))
start_results

echo "smtp-blackhole vs the floor and smtp-sink, driven by smtp-source ($( ((quick)) && echo quick || echo full )" \
    "run, $rounds round(s))" >&2
run_rounds floor floor-asio blackhole-t1 blackhole smtp-sink
report_args=()
if ((syscalls)); then
    deadline=$((SECONDS + budget))
    syscall_pass
    report_args=(--syscalls "$work/syscalls.tsv" --strace "$work/strace")
fi

bench_report floor python3 "$ROOT/bench/floor_report.py" "$results" "${report_args[@]}"
# Exit status 1 when any server lost messages or any client run failed; the table is printed either way.
python3 "$ROOT/bench/floor_report.py" "$results" "${report_args[@]}" --check
