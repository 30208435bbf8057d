#!/usr/bin/env bash
# TLS benchmark for smtp-blackhole (--threads 1): what TLS costs the server, side by side in one run.
#
# 1. Handshakes on the implicit-TLS (smtps) port, one connection at a time:
#    - OpenSSL's own `openssl s_time -new` / `-reuse` with -tls1_2 and -tls1_3, time-bounded with -time: the
#      reference for the handshake rate (connections over the wall time measured around it);
#    - the Python helper (bench/tls_helper.py handshake), which also reads the 220 greeting: it is the only
#      way to get TLS 1.3 resumption, since s_time never reads the session tickets a TLS 1.3 server sends
#      after the handshake (so `s_time -reuse -tls1_3` resumes nothing and is not run).
#    Per row: handshakes/s, server CPU per handshake (utime+stime from /proc/PID/stat), and the daemon's own
#    tls_handshakes / tls_failed / tls_resumed totals, checked against the client's connection count.
# 2. Messages over plaintext, STARTTLS and implicit TLS: 8 parallel connections, many messages each, 1 KiB
#    and 100 KiB, sent with smtplib (bench/tls_helper.py send). The main figure is messages per server
#    CPU-second (the Python client is the bottleneck for msg/s), and the TLS / plaintext ratio of it. The
#    daemon's transactions total is checked against what was sent.
# postfix's smtp-sink has no TLS and smtp-source no STARTTLS, so neither is used here (see bench/run.sh).
# Every figure comes from a freshly started daemon, alone on 127.0.0.1; message figures are the median of
# `rounds` rounds, spread over the run with the mode order rotating.
#
# Usage: bench/tls.sh [--quick] [--out FILE] [--no-build] [--profile]
#   --quick     smoke run (under 30 s): short handshake runs, small counts, one round; prints only, saves
#               nothing unless --out is given
#   --out FILE  where to save the markdown (default: bench/results/YYYY-MM-DD-tls.md for a full run)
#   --no-build  use build/smtp-blackhole as it is instead of running scripts/build.sh first
#   --profile   after the measurements, `perf record -e cpu-clock -g` the daemon during one extra
#               100 KiB STARTTLS run and add its top entries to the report (needs linux-perf)
# Needs: openssl (s_time, s_client), python3, coreutils timeout. Traffic goes to 127.0.0.1 only. Only the
# processes this script starts are stopped, by PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/smtp-blackhole
HELPER=$ROOT/bench/tls_helper.py
# bench_args, bench_setup, stop_pid, cpu_ticks, start_logged, wait_log_port, client_limit, bench_report...
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

BENCH_FLAGS="--profile"
bench_args "$0" "$@"
bench_build
profile=${flag[--profile]:-0}

# stime_s: s_time's -time (it stops at the first whole second past it, so a run takes stime_s to stime_s+1).
# py_s: seconds per Python handshake row. Message shapes: size conns per_conn.
if ((quick)); then
    stime_s=1
    py_s=1
    rounds=1
    budget=27           # seconds for the whole run, client timeouts included
    shapes=("1024 8 100" "102400 8 10")
else
    stime_s=6
    py_s=4
    rounds=3
    budget=220
    shapes=("1024 8 1500" "102400 8 200")
fi
client_timeout=60       # upper bound for one client run (also capped by what is left of the budget)

if ((profile)) && ! command -v perf >/dev/null; then echo "tls.sh: --profile needs perf" >&2; exit 1; fi
bench_setup smtp-tls-bench openssl python3 timeout
deadline=$((SECONDS + budget))

# Starts a fresh daemon with plaintext and implicit-TLS listeners; sets server_pid, port (smtp; both set by
# lib.sh's start_logged) and sport (smtps). Its stderr stays in $work/server.err.
port=""
start_daemon() {
    if ! { start_logged "$work/server.err" 100 "$BIN" --smtp-listen 127.0.0.1:0 --smtps-listen 127.0.0.1:0 \
        --http-listen 127.0.0.1:0 --threads 1 --drain-timeout 2s --log-level info &&
        sport=$(wait_log_port "$work/server.err" smtps 100); }; then
        start_failed "$work/server.err"
    fi
}

# N of NAME=N in the daemon's last "msg=totals" line ($1: NAME), or -1.
log_total() {
    local n
    n=$(sed -n "s/.*msg=totals .* $1=\\([0-9][0-9]*\\).*/\\1/p" "$work/server.err" | tail -n1)
    echo "${n:--1}"
}

# Stops the daemon (in the main shell, so that it is reaped) and sets the totals it printed.
stop_daemon() {
    stop_pid "$server_pid" 5 || true
    server_pid=""
    srv_tx=$(log_transactions "$work/server.err")
    srv_ok=$(log_total tls_handshakes)
    srv_failed=$(log_total tls_failed)
    srv_resumed=$(log_total tls_resumed)
}

hs_rows=$work/handshakes.tsv
msg_rows=$work/messages.tsv
printf 'client\tproto\tkind\tconnections\twall_ns\tcpu_ticks\tsrv_ok\tsrv_failed\tsrv_resumed\tclient_errors\tfirst_error\n' \
    >"$hs_rows"
printf 'round\tmode\tsize\tconns\tper_conn\tsent\tcounted\twall_ns\tcpu_ticks\tsrv_ok\tsrv_failed\tclient_errors\tfirst_error\ttls\n' \
    >"$msg_rows"

# One handshake row: $1 client (s_time|python), $2 proto (1.2|1.3), $3 kind (full|resumed).
run_handshakes() {
    local client=$1 proto=$2 kind=$3 t0 t1 c0 c1 n="" errors=0 wall first_error="" rc=0
    local log=$work/client.out
    start_daemon
    c0=$(cpu_ticks "$server_pid")
    t0=$(date +%s%N)
    if [[ $client == s_time ]]; then
        timeout "$(client_limit)" openssl s_time -connect "127.0.0.1:$sport" \
            "$([[ $kind == full ]] && echo -new || echo -reuse)" "-tls${proto/./_}" -time "$stime_s" \
            >"$log" 2>&1 || rc=$?
    else
        local -a resume=()
        [[ $kind == resumed ]] && resume=(--resume)
        timeout "$(client_limit)" python3 "$HELPER" handshake --port "$sport" --tls "$proto" "${resume[@]}" \
            --seconds "$py_s" >"$log" 2>&1 || rc=$?
    fi
    t1=$(date +%s%N)
    c1=$(cpu_ticks "$server_pid")
    stop_daemon
    wall=$((t1 - t0))
    if [[ $client == s_time ]]; then
        # "N connections in X.XXs; ..." (the first such line; the second repeats N with whole real seconds)
        n=$(sed -n 's/^\([0-9][0-9]*\) connections in [0-9.]*s;.*/\1/p' "$log" | head -n1)
        if [[ -z $n ]] || ((rc != 0)); then
            errors=1 first_error="s_time exit $rc: $(grep -v '^[*rt3]*$' "$log" | head -n1 | tr '\t' ' ')"
        fi
    else
        # The helper's own wall time: from its first connection to its last (no interpreter start-up).
        # (The client's own "reused" count is skipped: the daemon's tls_resumed is the one checked.)
        IFS=$'\t' read -r n _ errors wall first_error <"$log" || true
        if ((rc != 0)) || ! [[ $n =~ ^[0-9]+$ && $wall =~ ^[0-9]+$ ]]; then
            n=0 wall=$((t1 - t0))
            errors=1 first_error="helper exit $rc: $(head -n1 "$log" | tr '\t' ' ')"
        fi
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$client" "$proto" "$kind" "${n:-0}" "$wall" \
        "$((c1 - c0))" "$srv_ok" "$srv_failed" "$srv_resumed" "${errors:-1}" "$first_error" >>"$hs_rows"
    printf '  %-6s TLS %s %-7s %6d connections  %5.2f s  server ok/failed/resumed %s/%s/%s\n' "$client" "$proto" \
        "$kind" "${n:-0}" "$((wall / 1000000))e-3" "$srv_ok" "$srv_failed" "$srv_resumed" >&2
}

# One message row: $1 mode (plain|starttls|smtps), $2 size, $3 conns, $4 per_conn.
run_messages() {
    local mode=$1 size=$2 conns=$3 per_conn=$4 c0 c1 rc=0 log=$work/client.out target
    local sent="" errors="" wall="" tls="" first_error=""
    start_daemon
    target=$port
    [[ $mode == smtps ]] && target=$sport
    c0=$(cpu_ticks "$server_pid")
    timeout "$(client_limit)" python3 "$HELPER" send --port "$target" --mode "$mode" --conns "$conns" \
        --per-conn "$per_conn" --size "$size" --timeout 30 >"$log" 2>&1 || rc=$?
    c1=$(cpu_ticks "$server_pid")
    stop_daemon
    IFS=$'\t' read -r sent errors wall tls first_error <"$log" || true
    if ((rc != 0)) || ! [[ $sent =~ ^[0-9]+$ && $wall =~ ^[0-9]+$ ]]; then
        sent=0 wall=0 errors=1 first_error="helper exit $rc: $(tail -n1 "$log" | tr '\t' ' ')"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$mode" "$size" "$conns" "$per_conn" \
        "$sent" "$srv_tx" "$wall" "$((c1 - c0))" "$srv_ok" "$srv_failed" "$errors" "$first_error" "${tls:-?}" \
        >>"$msg_rows"
    printf '  %-8s %6d msgs  %5.2f s  server: %d transactions, %d CPU ticks\n' "$mode" "$sent" \
        "$((wall / 1000000))e-3" "$srv_tx" "$((c1 - c0))" >&2
}

echo "smtp-blackhole TLS benchmark ($( ((quick)) && echo quick || echo full ) run)" >&2

# What gets negotiated, once per protocol version (the report's "negotiated" line).
start_daemon
negotiated=""
for v in 1.2 1.3; do
    line=$(timeout 5 openssl s_client -connect "127.0.0.1:$sport" "-tls${v/./_}" -brief </dev/null 2>&1 |
        sed -n 's/^Protocol version: //p; s/^Ciphersuite: //p; s/^Signature type: //p; s/^Server Temp Key: //p' |
        paste -sd' ' - || true)
    negotiated+="${negotiated:+; }${line:-TLS $v: no answer}"
done
stop_daemon

echo "handshakes (s_time -time $stime_s, Python $py_s s per row)" >&2
run_handshakes s_time 1.2 full
run_handshakes s_time 1.2 resumed
run_handshakes s_time 1.3 full
run_handshakes python 1.2 full
run_handshakes python 1.2 resumed
run_handshakes python 1.3 full
run_handshakes python 1.3 resumed

modes=(plain starttls smtps)
for ((round = 1; round <= rounds; round++)); do
    for shape in "${shapes[@]}"; do
        read -r size conns per_conn <<<"$shape"
        echo "messages, round $round/$rounds: $((size / 1024)) KiB, $conns connections x $per_conn" >&2
        for ((k = 0; k < ${#modes[@]}; k++)); do
            run_messages "${modes[(k + round - 1) % ${#modes[@]}]}" "$size" "$conns" "$per_conn"
        done
    done
done
msg_tls=$(cut -f2,14 "$msg_rows" | sed 1d | sort -u | awk -F'\t' '$1 != "plain" {print $1 " " $2}' | paste -sd, - |
    sed 's/,/, /g')

# Optional profiles (--profile): perf attached to the daemon during one more run of a handshake row and of the
# 100 KiB STARTTLS shape. Each adds "profileN=..." to the report: self time by library, then the top symbols
# (libcrypto has no symbols here, so its unresolved addresses are left out of that list; the library line
# counts them).
profiles=()
profile_run() {
    local label=$1 what=$2 size conns per_conn top
    echo "profile: perf record -e cpu-clock -g on the daemon: $label" >&2
    start_daemon
    perf record -e cpu-clock -g -o "$work/perf.data" -p "$server_pid" >"$work/perf.out" 2>&1 &
    perf_pid=$!
    sleep 0.3
    if [[ $what == handshakes ]]; then
        timeout "$(client_limit)" openssl s_time -connect "127.0.0.1:$sport" -new -tls1_2 -time "$stime_s" \
            >"$work/client.out" 2>&1 || true
    else
        read -r size conns per_conn <<<"${shapes[1]}"
        timeout "$(client_limit)" python3 "$HELPER" send --port "$port" --mode starttls --conns "$conns" \
            --per-conn "$per_conn" --size "$size" --timeout 30 >"$work/client.out" 2>&1 || true
    fi
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    perf_pid=""
    stop_daemon
    top="$label. By library: "
    top+=$(perf report -i "$work/perf.data" --no-children --sort dso --stdio 2>/dev/null |
        sed -nE 's/^ +([0-9.]+%) +([^ ]+).*/\1 \2/p' | head -n 6 | paste -sd, - | sed 's/,/, /g' || true)
    top+=". Top symbols: "
    top+=$(perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
        sed -nE 's/^ +([0-9.]+%) +([^ ]+) +\[.\] +(.*[^ -]) *[ -]*$/\1 \3 (\2)/p' | grep -v ' 0x[0-9a-f]* (' |
        head -n 10 | paste -sd';' - | sed 's/;/; /g' || true)
    profiles+=(--meta "profile${#profiles[@]}=$top")
}
if ((profile)); then
    profile_run "full TLS 1.2 handshakes (s_time -new -tls1_2)" handshakes
    read -r size _ _ <<<"${shapes[1]}"
    profile_run "$((size / 1024)) KiB messages over STARTTLS" messages
fi

bench_report tls python3 "$HELPER" report "$hs_rows" "$msg_rows" \
    --meta "openssl=$(openssl version | cut -d' ' -f1-2)" \
    --meta "python=$(python3 -c 'import platform; print(platform.python_version())')" \
    --meta "negotiated=$negotiated" \
    --meta "stime_seconds=$stime_s" \
    --meta "msg_tls=${msg_tls:-?}" \
    --meta "hs_note1=s_time and TLS 1.3: s_time closes the connection the moment its side of the handshake is \
done, before the server has sent its session tickets; the ticket write then fails with a reset, so the daemon \
counts most of these connections as tls_failed although the client completed them (the Python client, which \
reads the greeting, gets none). Handshakes are checked as ok + failed = connections for these rows." \
    --meta "hs_note2=\`s_time -reuse -tls1_3\` is not run: s_time never reads the TLS 1.3 session tickets, so it \
has nothing to resume with and every connection is a full handshake; the Python rows give TLS 1.3 resumption." \
    "${profiles[@]}"
# Exit status 1 when a count does not match or a client failed; the report is printed either way.
python3 "$HELPER" check "$hs_rows" "$msg_rows"
