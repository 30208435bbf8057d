#!/usr/bin/env bash
# The bundled load generator, measured: (1) transactions per second against smtp-blackhole with connection
# reuse in each sending mode (--bdat, --pipelining, one command per round trip), daemon and generator sharing
# the machine's cores, with latency and the CPU each side used; (2) the generator beside postfix's smtp-source
# in the same shape (20 connections, 1 KiB, 100 messages per connection, one command per round trip), as
# messages per client CPU-second, both against the same smtp-blackhole.
# Every run's count is checked: the daemon's final transactions equal the generator's accepted (and what
# smtp-source sent). The daemon runs with sampling off (--sample-rate 0 --sample-first-per-flow 0), as a load
# test would.
#
# Usage: bench/loadgen.sh [--quick] [--out FILE] [--no-build]
# Traffic goes to 127.0.0.1 only; only processes this script starts are stopped, by PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/smtp-blackhole
LG=$ROOT/build/loadgen/smtp-blackhole-loadgen
SOURCE=/usr/sbin/smtp-source
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

bench_args "$0" "$@"
bench_build
if ((quick)); then n=20000; rounds=1; src_runs=2; else n=500000; rounds=3; src_runs=25; fi

bench_setup smtp-loadgen-bench "$LG" "$SOURCE" timeout python3

# Runs a command and prints the CPU seconds (user + system) it and its children used.
client_cpu() {
    python3 - "$@" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=False)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f'{r.ru_utime + r.ru_stime:.3f}')
PY
}

start_daemon() {  # $1: threads
    start_logged "$work/d.log" 200 "$BIN" --smtp-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --threads "$1" \
        --sample-rate 0 --sample-first-per-flow 0 || start_failed "$work/d.log"
}

# Stops the daemon and sets `got` to its final transactions; in the main shell, never in $(...), so that it is
# reaped and server_pid is cleared here.
stop_daemon() {
    stop_pid "$server_pid" 10 || true
    server_pid=""
    got=$(log_transactions "$work/d.log")
}

problems=()
rows=()
# (1) throughput: daemon threads, generator threads, connections, mode
for shape in "1 1 20 --bdat" "1 1 20 --pipelining" "1 1 20 lockstep" "2 2 40 --bdat" "2 2 40 --pipelining"; do
    read -r dt lt conns mode <<<"$shape"
    for ((r = 0; r < rounds; r++)); do
        start_daemon "$dt"
        t0=$(cpu_ticks "$server_pid")
        args=(--target "127.0.0.1:$port" --threads "$lt" --connections "$conns" --messages "$n" --size 1024 --json --quiet)
        [[ $mode != lockstep ]] && args+=("$mode")
        timeout 120 "$LG" "${args[@]}" >"$work/lg.json" || true
        t1=$(cpu_ticks "$server_pid")
        stop_daemon
        line=$(python3 - "$work/lg.json" "$((t1 - t0))" "$(getconf CLK_TCK)" "$got" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
ticks, hz, daemon_n = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
t = j['latency_ms']['transaction']
ok = 'ok' if daemon_n == j['accepted'] == j['sent'] else f"MISMATCH daemon {daemon_n} accepted {j['accepted']} sent {j['sent']}"
print(f"{j['messages_per_s']:.0f} {t['p50']} {t['p99']} {ticks / hz:.2f} {j['accepted'] / max(ticks / hz, 1e-9):.0f} {ok}")
PY
)
        read -r mps p50 p99 dcpu dmpc ok <<<"$line"
        [[ $ok != ok ]] && problems+=("$shape: $line")
        rows+=("| $dt / $lt | $conns | ${mode/lockstep/one command per round trip} | $mps | $p50 / $p99 | $dcpu | $dmpc | $ok |")
    done
done

# (2) per client CPU-second beside smtp-source, same daemon, same shape
start_daemon 1
src_n=$((src_runs * 2000))
src_cpu=0
for ((i = 0; i < src_runs; i++)); do
    c=$(client_cpu timeout 60 "$SOURCE" -s 20 -m 2000 -l 1024 -d -f s@loadgen.test -t r@sink.test -M loadgen.test \
        "127.0.0.1:$port")
    src_cpu=$(python3 -c "print(round($src_cpu + $c, 3))")
done
cmp_rows=()
cmp_rows+=("| smtp-source (-s 20 -d, one command per round trip) | $src_n | $src_cpu | $(python3 -c "print(round($src_n / $src_cpu))") |")
for mode in lockstep --pipelining --bdat; do
    args=(--target "127.0.0.1:$port" --threads 1 --connections 20 --messages "$src_n" --messages-per-connection 100
          --size 1024 --quiet)
    [[ $mode != lockstep ]] && args+=("$mode")
    c=$(client_cpu timeout 120 "$LG" "${args[@]}")
    cmp_rows+=("| loadgen ${mode/lockstep/(one command per round trip)} | $src_n | $c | $(python3 -c "print(round($src_n / $c))") |")
done
stop_daemon
expect=$((src_n * 4))
[[ $got == "$expect" ]] || problems+=("comparison: daemon counted $got, expected $expect")

meta=()
bench_meta "$ROOT" "$BIN"
{
    echo "# smtp-blackhole-loadgen benchmark$( ((quick)) && echo ' (quick)')"
    echo
    for ((i = 0; i < ${#meta[@]}; i += 2)); do echo "- ${meta[i + 1]/=/: }"; done
    echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "## Transactions per second (1 KiB, connections reused, $n messages per run, $rounds round(s))"
    echo
    echo "| daemon / loadgen threads | connections | mode | msg/s | latency p50 / p99 ms | daemon CPU s | msg per daemon CPU-s | counts |"
    echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- |"
    printf '%s\n' "${rows[@]}"
    echo
    echo "## Per client CPU-second beside smtp-source (20 connections, 1 KiB, 100 messages per connection)"
    echo
    echo "| client | messages | client CPU s | msg per client CPU-s |"
    echo "| --- | ---: | ---: | ---: |"
    printf '%s\n' "${cmp_rows[@]}"
    echo
    if ((${#problems[@]})); then printf 'PROBLEM: %s\n' "${problems[@]}"; else echo "Counts: every run's daemon total equals what was sent and accepted."; fi
} >"$work/report.md"
cat "$work/report.md"
bench_out loadgen
if [[ -n $out ]]; then cp "$work/report.md" "$out" && echo "saved $out"; fi
((${#problems[@]} == 0))
