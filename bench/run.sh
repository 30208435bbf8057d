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
# bench_args, bench_setup, stop_pid, cpu_ticks, free_port, start_logged, client_limit, bench_report...
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

# Starts smtp-blackhole with $1 threads; sets server_pid and port, leaves its stderr in $work/server.err.
start_blackhole() {
    start_logged "$work/server.err" 100 \
        "$BIN" --smtp-listen 127.0.0.1:0 --threads "$1" --drain-timeout 2s --log-level info ||
        start_failed "$work/server.err"
}

# Starts smtp-sink on a free port; sets server_pid and port. -c keeps a running counter on stdout (one short
# write per message, session end and QUIT) so its message count can be checked too.
start_sink() {
    local attempt i
    for ((attempt = 0; attempt < 5; attempt++)); do
        port=$(free_port)
        : >"$work/server.out"
        "$SINK" -u nobody -c "127.0.0.1:$port" 1024 >"$work/server.out" 2>"$work/server.err" &
        server_pid=$!
        for ((i = 0; i < 100; i++)); do
            kill -0 "$server_pid" 2>/dev/null || break
            # The probe is a session without mail; it does not touch the message counter.
            if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
            sleep 0.05
        done
        stop_pid "$server_pid" 1 || true
        server_pid=""
    done
    echo "run.sh: smtp-sink did not start:" >&2
    cat "$work/server.err" >&2
    exit 1
}

# Stops the current server and sets `counted` to how many messages it says it received (-1: no count found).
# Runs in the main shell, never in $(...), so that `wait` reaps the server and server_pid is cleared here.
stop_and_count() {
    local kind=$1 n
    stop_pid "$server_pid" 5 || true
    server_pid=""
    if [[ $kind == sink ]]; then
        n=$(tr '\r' '\n' <"$work/server.out" | sed -n 's/.*mesg=\([0-9][0-9]*\).*/\1/p' | tail -n1)
        counted=${n:--1}
    else
        counted=$(log_transactions "$work/server.err")
    fi
}

deadline=$((SECONDS + budget))
results=$work/results.tsv
errlog=$work/client.err
printf 'round\tsize\tconc\tper_conn\tserver\tsent\tcounted\twall_ns\tcpu_ticks\tclient_errors\tfirst_error\n' >"$results"

# Runs one shape against the server on $port/$server_pid; appends a row to $results.
run_shape() {
    local server=$1 kind=$2 size=$3 conc=$4 per_conn=$5 total=$6
    local -a args
    local runs per_run sent=0 errors=0 i limit t0 t1 c0 c1 counted first_error=""
    if ((per_conn == 1)); then
        runs=1 per_run=$total
        args=(-s "$conc" -m "$total" -l "$size")
    else
        per_run=$((per_conn * conc)) runs=$((total / (per_conn * conc)))
        args=(-d -s "$conc" -m "$per_run" -l "$size")
    fi
    : >"$errlog"
    c0=$(cpu_ticks "$server_pid")
    t0=$(date +%s%N)
    for ((i = 0; i < runs; i++)); do
        if ! limit=$(client_limit); then
            errors=$((errors + 1)) first_error="time budget of ${budget}s used up"
            break
        fi
        if timeout "$limit" "$SOURCE" "${args[@]}" "127.0.0.1:$port" >>"$errlog" 2>&1; then
            sent=$((sent + per_run))
        else
            errors=$((errors + 1))
        fi
    done
    t1=$(date +%s%N)
    c1=$(cpu_ticks "$server_pid")
    stop_and_count "$kind"
    log_client_errors "$errlog"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$size" "$conc" "$per_conn" "$server" "$sent" "$counted" \
        "$((t1 - t0))" "$((c1 - c0))" "$errors" "$first_error" >>"$results"
    printf '  %-14s %7d msgs  %6.2f s\n' "$server" "$sent" "$(((t1 - t0) / 1000000))e-3" >&2
}

echo "smtp-blackhole vs smtp-sink, driven by smtp-source ($( ((quick)) && echo quick || echo full ) run," \
    "$rounds round(s))" >&2
servers=(blackhole-t1 smtp-sink blackhole-t2)
for ((round = 1; round <= rounds; round++)); do
    for shape in "${shapes[@]}"; do
        read -r size conc per_conn total <<<"$shape"
        echo "round $round/$rounds: $((size / 1024)) KiB, $per_conn msg/conn, concurrency $conc, $total messages" >&2
        for ((k = 0; k < ${#servers[@]}; k++)); do
            server=${servers[(k + round - 1) % ${#servers[@]}]}
            case $server in
                blackhole-t1) start_blackhole 1; kind=blackhole ;;
                blackhole-t2) start_blackhole 2; kind=blackhole ;;
                smtp-sink) start_sink; kind=sink ;;
            esac
            run_shape "$server" "$kind" "$size" "$conc" "$per_conn" "$total"
        done
    done
done

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
