#!/usr/bin/env bash
# The cost of flow counting and of sampling into the capture ring, against pure discard, as ratios.
#
# Four configurations of smtp-blackhole, each `--threads 1 --smtp-listen 127.0.0.1:0 --http-listen 127.0.0.1:0`:
#   discard    --flow-key none --sample-rate 0 --sample-first-per-flow 0
#   flows      the default --flow-key (header:X-Flow,rcpt-tag), --sample-rate 0 --sample-first-per-flow 0
#   sample1    the default --flow-key, --sample-rate 0.01 --sample-first-per-flow 0
#   sampleall  --sample-rate 1 (the default); the capture ring keeps its default bounds, so it evicts
# Load: postfix's smtp-source `-d`, in two shapes, each split over four runs, one per flow (flows=4):
#   1 KiB    -l 1024 -t load+fN@example.test: rcpt-tag names the flow (the X-Flow lookup finds nothing)
#   100 KiB  -F fN.msg: a file with an "X-Flow: fN" header and a 100 KiB body; the header names the flow
# Measured per configuration and shape:
#   msg/s       messages / wall time of the smtp-source runs
#   msg/CPU-s   messages / (utime + stime of the daemon over those runs, from /proc/PID/stat)
#   instr/msg   the daemon run under `valgrind --tool=callgrind --collect-atstart=yes`: total Ir of a run with
#               mail minus total Ir of a run of the same configuration without mail, / messages. User space
#               only: the kernel's TCP work, which dominates the daemon's CPU time, is left out.
#               (--quick: 1 KiB only, and one baseline run, discard's, for all four configurations.)
# Timed runs use 20 sessions (-s 20); callgrind runs one (-s 1). Instruction counts are not fully
# deterministic here: how many reads and wakeups a message takes depends on timing (is the next command there
# yet when the daemon reads again?). With 20 sessions the count per 1 KiB message moved by up to 9% between
# runs; with one session, client and daemon take turns and 100 KiB counts stay within 0.5%, 1 KiB counts
# within about 5-8% on a busy machine, hence the rounds. Callgrind also counts glibc's large-copy `rep movsb`
# as one instruction per byte, which inflates the instr/msg of copying (capturing) 100 KiB messages.
# Each is reported as a per-message cost ratio against pure discard: the median of `rounds` timed rounds and
# of `cg_rounds` callgrind rounds (the configuration order rotates per timed round; the baseline runs once).
# Checks: every run's final "msg=totals ... transactions=N" equals what smtp-source sent, and after every
# timed run GET /api/v1/flows holds exactly the messages sent per flow (all under _default for discard).
# Also read after every timed run, from /metrics: messages captured into the ring and evicted from it.
#
# Usage: [SINK_COST_BUDGET=SECONDS] bench/sink_cost.sh [--quick] [--out FILE] [--no-build]
#   SINK_COST_BUDGET  the full run's time budget (default 230 s), for a machine busy with other work
#   --quick     smoke run in under 30 s: tiny counts, one round; prints only, saves nothing unless --out is given
#   --out FILE  where to save the markdown (default: bench/results/YYYY-MM-DD-sink-cost.md for a full run)
#   --no-build  use build/smtp-blackhole as it is instead of running scripts/build.sh first
# Needs: postfix's /usr/sbin/smtp-source, valgrind, coreutils timeout, python3.
# Traffic goes to 127.0.0.1 only. Only processes this script starts are stopped, by PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/smtp-blackhole
SOURCE=/usr/sbin/smtp-source
REPORT=$ROOT/bench/sink_cost_report.py
# bench_args, bench_setup, stop_pid, cpu_ticks, start_logged, wait_log_port, client_limit, bench_report...
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

bench_args "$0" "$@"
bench_build

# Messages per measurement, by shape (a multiple of 20 x $flows keeps the sessions' shares even).
# Timed totals put the 1 KiB and the 100 KiB runs at one to two seconds each; callgrind totals make the
# messages' instructions several times those of starting and stopping the daemon.
flows=4
if ((quick)); then
    rounds=1
    budget=28           # seconds for the whole run, client timeouts included
    cg_rounds=1
    timed_1k=2000 timed_100k=400 cg_1k=800 cg_100k=0
    # Starting the daemon under valgrind takes one to two seconds: one baseline run (discard's) serves every
    # configuration, and the 100 KiB shape is not run under callgrind.
    baseline_configs=(discard)
else
    rounds=3
    budget=${SINK_COST_BUDGET:-230}  # more on a busy machine, where callgrind runs slower
    cg_rounds=3
    timed_1k=30000 timed_100k=8000 cg_1k=8000 cg_100k=800
    baseline_configs=(discard flows sample1 sampleall)
fi
client_timeout=60       # seconds, upper bound for one smtp-source run (also capped by what is left of budget)
sizes=(1024 102400)
configs=(discard flows sample1 sampleall)
declare -A config_args=(
    [discard]="--flow-key none --sample-rate 0 --sample-first-per-flow 0"
    [flows]="--sample-rate 0 --sample-first-per-flow 0"
    [sample1]="--sample-rate 0.01 --sample-first-per-flow 0"
    [sampleall]="--sample-rate 1"
)
common_args=(--threads 1 --smtp-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --drain-timeout 2s --log-level info)

bench_setup smtp-sink-cost "$SOURCE" valgrind timeout python3

# The 100 KiB messages, one per flow: 1280 lines of 78 characters, to which smtp-source appends CRLF.
for ((i = 1; i <= flows; i++)); do
    {
        printf 'From: <load@example.test>\nTo: <load+f%d@example.test>\nSubject: sink cost f%d\nX-Flow: f%d\n\n' \
            "$i" "$i" "$i"
        line=$(printf 'x%.0s' {1..78})
        for ((j = 0; j < 1280; j++)); do echo "$line"; done
    } >"$work/f$i.msg"
done

# Starts the daemon in configuration $1, under callgrind writing to $2 when given; sets server_pid, port and
# http_port.
start_daemon() {
    local config=$1 cg=${2:-} tries=100
    # shellcheck disable=SC2206
    local -a cmd=("$BIN" "${common_args[@]}" ${config_args[$config]})
    if [[ -n $cg ]]; then
        tries=600       # valgrind takes about a second to get the daemon listening
        cmd=(valgrind --tool=callgrind --collect-atstart=yes --callgrind-out-file="$cg"
            --log-file="$work/valgrind.log" "${cmd[@]}")
    fi
    if ! { start_logged "$work/server.err" "$tries" "${cmd[@]}" &&
        http_port=$(wait_log_port "$work/server.err" http 100); }; then
        start_failed "$work/server.err" "$config${cg:+, under callgrind}"
    fi
}

# Sends $2 messages of shape $1 (bytes) to the daemon on $port over $3 sessions, in $flows smtp-source runs;
# sets sent, errors, first_error and expect (the flows /api/v1/flows should then list, as NAME=N,...).
send() {
    local size=$1 per=$(($2 / flows)) sessions=$3 i limit
    local -a load
    sent=0 errors=0 first_error="" expect=""
    : >"$work/client.err"
    for ((i = 1; i <= flows; i++)); do
        if ! limit=$(client_limit); then
            errors=$((errors + 1)) first_error="time budget of ${budget}s used up"
            break
        fi
        if ((size == 1024)); then load=(-l 1024 -t "load+f$i@example.test"); else load=(-F "$work/f$i.msg"); fi
        if timeout "$limit" "$SOURCE" -s "$sessions" -d -m "$per" "${load[@]}" "127.0.0.1:$port" \
            >>"$work/client.err" 2>&1; then
            sent=$((sent + per))
            expect+=${expect:+,}f$i=$per
        else
            errors=$((errors + 1))
        fi
    done
    log_client_errors "$work/client.err"
}

row() {  # kind size config wall_ns cpu_ticks ir captured evicted flows
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$round" "$2" "$3" "$sent" "$counted" \
        "$4" "$5" "$6" "$7" "$8" "$9" "$errors" "$first_error" >>"$results"
}

# One timed run: a fresh daemon, the load, then (outside the measurement) the flow and capture checks.
run_timed() {
    local size=$1 config=$2 total=$3 t0 t1 c0 c1 flow_check="-" captured=-1 evicted=-1 base
    start_daemon "$config"
    c0=$(cpu_ticks "$server_pid")
    t0=$(date +%s%N)
    send "$size" "$total" 20
    t1=$(date +%s%N)
    c1=$(cpu_ticks "$server_pid")
    base=http://127.0.0.1:$http_port
    if [[ $config == discard ]]; then expect=${expect:+_default=$sent}; fi
    if [[ -n $expect ]]; then
        flow_check=$(timeout 20 python3 "$REPORT" flows "$base/api/v1/flows" "$expect" || echo "flows check failed")
    fi
    read -r captured evicted < <(timeout 20 python3 "$REPORT" capture "$base/metrics" || echo "-1 -1")
    stop_pid "$server_pid" 5 || true
    server_pid=""
    counted=$(log_transactions "$work/server.err")
    row timed "$size" "$config" "$((t1 - t0))" "$((c1 - c0))" -1 "$captured" "$evicted" "$flow_check"
    printf '  %-10s %6d msgs  %6.2f s  flows: %s\n' "$config" "$sent" "$(((t1 - t0) / 1000000))e-3" \
        "$flow_check" >&2
}

# One callgrind run: $3 messages of shape $1 (0 0: no mail, the baseline) to the daemon under callgrind.
run_callgrind() {
    local size=$1 config=$2 total=$3 cg=$work/callgrind.out ir t0=$SECONDS
    rm -f "$cg"
    start_daemon "$config" "$cg"
    if ((total > 0)); then
        send "$size" "$total" 1
    else
        sent=0 errors=0 first_error=""
    fi
    stop_pid "$server_pid" 60 || true     # callgrind writes its output at exit
    server_pid=""
    counted=$(log_transactions "$work/server.err")
    ir=$(sed -n 's/^totals: *\([0-9][0-9]*\).*/\1/p' "$cg" 2>/dev/null | tail -n1)
    row callgrind "$size" "$config" 0 0 "${ir:--1}" -1 -1 -
    printf '  %-10s %6d x %3d KiB  Ir %s  (%d s)\n' "$config" "$sent" "$((size / 1024))" "${ir:-missing}" \
        "$((SECONDS - t0))" >&2
}

deadline=$((SECONDS + budget))
results=$work/results.tsv
printf 'kind\tround\tsize\tconfig\tsent\tcounted\twall_ns\tcpu_ticks\tir\tcaptured\tevicted\tflows\tclient_errors\tfirst_error\n' \
    >"$results"

echo "sink cost: flow counting and sampling against pure discard ($( ((quick)) && echo quick || echo full ) run," \
    "$rounds round(s))" >&2
for ((round = 1; round <= rounds; round++)); do
    for size in "${sizes[@]}"; do
        total=$((size == 1024 ? timed_1k : timed_100k))
        echo "round $round/$rounds: $((size / 1024)) KiB, $total messages, timed" >&2
        for ((k = 0; k < ${#configs[@]}; k++)); do
            run_timed "$size" "${configs[(k + round - 1) % ${#configs[@]}]}" "$total"
        done
    done
done
for ((round = 1; round <= cg_rounds; round++)); do
    echo "callgrind round $round/$cg_rounds" >&2
    for config in "${configs[@]}"; do
        if ((round == 1)) && [[ " ${baseline_configs[*]} " == *" $config "* ]]; then run_callgrind 0 "$config" 0; fi
        for size in "${sizes[@]}"; do
            total=$((size == 1024 ? cg_1k : cg_100k))
            if ((total > 0)); then run_callgrind "$size" "$config" "$total"; fi
        done
    done
done

bench_report sink-cost python3 "$REPORT" render "$results" --meta "flows=$flows"
# Exit status 1 when a count differs, a client run failed or a measurement is missing; the table is printed
# either way.
python3 "$REPORT" check "$results"
