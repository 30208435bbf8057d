#!/usr/bin/env bash
# TLS benchmark for smtp-blackhole: what TLS costs the server, side by side in one run (a full run takes about
# 3 minutes, --quick about 45 s).
#
# 0. The TLS floor: bench/tls_floor.cpp (compiled with g++ -O2 on every run) measures what OpenSSL itself costs,
#    client and server in one process over a memory BIO pair, no sockets: CPU per handshake on each side (TLS 1.2
#    full, resumed by ticket and by session id; TLS 1.3 full and resumed by ticket), SSL_new to SSL_free, and per
#    pipelined 1 KiB SMTP message over an established session. Pinned to the server core. Parts 1 to 3 are
#    compared with it: the daemon's TLS cost over OpenSSL's own, and for each STARTTLS shape the ceiling the floor
#    leaves on this machine (its cores over the CPU a message needs: plaintext's, both sides, plus OpenSSL's).
# 1. Handshakes, the daemon (--threads 1) against `openssl s_server -www`, both on the same self-signed P-256
#    key and certificate made at start, each server alone and pinned to one core (`taskset`), the client on
#    another core when there are two. OpenSSL's `openssl s_time` (time-bounded with -time) drives both:
#    `-new` and `-reuse` with -tls1_2, `-new` with -tls1_3 (s_time never reads the session tickets a TLS 1.3
#    server sends after the handshake, so it cannot resume TLS 1.3; s_server's -www makes it wait for a request
#    that never comes, so s_time only handshakes). Per row: handshakes per server CPU-second (utime+stime of the
#    server process from /proc/PID/stat) and the ratio daemon / s_server; per server, how much cheaper a resumed
#    handshake is than a full one. Python rows (bench/tls_helper.py handshake: handshake, read the 220 greeting,
#    close; TLS 1.2 and 1.3, full and resumed) give TLS 1.3 resumption on the daemon.
#    The daemon's tls_handshakes / tls_failed / tls_resumed totals are checked against the clients' counts, and
#    every resumed row against the client's own resumed count (s_time's "r" marks), s_server's included.
# 2. One message per connection through the bundled load generator (--tls on the implicit-TLS port,
#    --connections 1 --threads 1 --messages-per-connection 1), the daemon --threads 1 pinned to one core:
#    TLS 1.3 full (--tls-resume off) and resumed (ticket), TLS 1.2 full, resumed by ticket and by session id,
#    and plaintext as the floor of a connection with one message. Per row: daemon CPU µs per connection,
#    connections per server CPU-second, and how much cheaper the resumed rows are than the full one of their
#    version. The daemon's tls_resumed must equal the generator's.
# 3. STARTTLS shapes: the daemon with its default threads, the generator with --threads 2, 50 connections,
#    --pipelining, 1 KiB, for --messages-per-connection 1, 10, 100 and 0 (never closed), each in plaintext,
#    --starttls (resumption on, the generator's default, TLS 1.3), --starttls --tls-version 1.2 (resumed by
#    tickets) and --starttls --tls-resume off. Per row: messages/s, messages per minute, the ratio to plaintext of
#    the same shape, messages per CPU-second of the daemon and the generator together (the generator's `cpu_s`),
#    and the ceiling from part 0.
# Rows 2 and 3 run the daemon with --sample-rate 0.01 and are bounded by --duration and a message count; each
# row's daemon transactions must equal the generator's accepted messages, with TLS handshakes and resumed
# handshakes equal on both sides. Every row has a freshly started server, alone on 127.0.0.1.
#
# Usage: bench/tls.sh [--quick] [--out FILE] [--no-build] [--profile]
#   --quick     smoke run (about 40 s): rows of 0.5 to 2 s; prints only, saves nothing unless --out is given
#   --out FILE  where to save the markdown (default: bench/results/YYYY-MM-DD-tls.md for a full run)
#   --no-build  use build/ as it is instead of running scripts/build.sh first
#   --profile   after the measurements, `perf record -e cpu-clock -g` the daemon during one more run of full
#               TLS 1.2 handshakes (s_time) and of one message per connection over TLS 1.3 with resumption
#               (load generator), and add their top entries to the report (needs linux-perf)
# Needs: openssl (req, s_server, s_time, s_client), python3, taskset, coreutils timeout. Traffic goes to
# 127.0.0.1 only. Only the processes this script starts are stopped, by PID. The run fails (exit status 1) when
# a count does not match or a client failed; the report is printed either way.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/smtp-blackhole
LG=$ROOT/build/loadgen/smtp-blackhole-loadgen
HELPER=$ROOT/bench/tls_helper.py
# bench_args, bench_setup, stop_pid, cpu_ticks, start_logged, wait_log_port, client_limit, bench_report...
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

BENCH_FLAGS="--profile"
bench_args "$0" "$@"
bench_build
profile=${flag[--profile]:-0}

# stime_s: s_time's -time (it stops at the first whole second past it, so a row takes stime_s to stime_s+1).
# py_s: seconds per Python handshake row. one_s / shape_s: the generator's --duration in parts 2 and 3,
# one_max / shape_max: its --messages there (the bound when the machine is faster than expected).
if ((quick)); then
    stime_s=1 py_s=0.5 one_s=0.5 shape_s=1 one_max=20000 shape_max=400000 floor_s=0.3
    budget=90           # seconds for the whole run, client timeouts included (a bound, not a target)
else
    stime_s=6 py_s=4 one_s=4 shape_s=3 one_max=200000 shape_max=4000000 floor_s=2
    budget=420
fi
shape_per_conn=(1 10 100 0)
shape_conns=50
client_timeout=60       # upper bound for one client run (also capped by what is left of the budget)

if ((profile)) && ! command -v perf >/dev/null; then echo "tls.sh: --profile needs perf" >&2; exit 1; fi
bench_setup smtp-tls-bench "$LG" openssl python3 taskset timeout g++
deadline=$((SECONDS + budget))

# The cores: servers run on the first core this script may use, pinned clients on the second (when there is
# only one, clients run unpinned).
read -r server_core client_core < <(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0))[:2])')
pin_client=()
[[ -n ${client_core:-} ]] && pin_client=(taskset -c "$client_core")

# One P-256 key and self-signed certificate for both servers.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=tls-bench.test \
    -keyout "$work/key.pem" -out "$work/cert.pem" >"$work/req.out" 2>&1 || { cat "$work/req.out" >&2; exit 1; }

# Starts a fresh daemon with plaintext and implicit-TLS listeners on the benchmark's certificate; sets
# server_pid, port (smtp; both set by lib.sh's start_logged) and sport (smtps). $1 "pinned": --threads 1 on the
# server core; otherwise the default threads, unpinned. Its stderr stays in $work/server.err.
port=""
start_daemon() {
    local -a run=("$BIN")
    [[ ${1:-} == pinned ]] && run=(taskset -c "$server_core" "$BIN" --threads 1)
    if ! { start_logged "$work/server.err" 100 "${run[@]}" --smtp-listen 127.0.0.1:0 --smtps-listen 127.0.0.1:0 \
        --http-listen 127.0.0.1:0 --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" --sample-rate 0.01 \
        --drain-timeout 2s --log-level info &&
        sport=$(wait_log_port "$work/server.err" smtps 100); }; then
        start_failed "$work/server.err"
    fi
}

# Starts `openssl s_server -www` on the same certificate, pinned to the server core; sets server_pid and sport
# once a TCP connection to it succeeds (it prints ACCEPT before it listens).
start_s_server() {
    local i
    sport=$(free_port)
    taskset -c "$server_core" openssl s_server -accept "127.0.0.1:$sport" -cert "$work/cert.pem" \
        -key "$work/key.pem" -www >"$work/server.err" 2>&1 &
    server_pid=$!
    for ((i = 0; i < 100; i++)); do
        (: <>"/dev/tcp/127.0.0.1/$sport") 2>/dev/null && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "tls.sh: openssl s_server did not start:" >&2
    cat "$work/server.err" >&2
    exit 1
}

# $1: blackhole (pinned) or s_server.
start_server() {
    if [[ $1 == s_server ]]; then start_s_server; else start_daemon pinned; fi
}

# N of NAME=N in the daemon's last "msg=totals" line ($1: NAME), or -1 (s_server prints none).
log_total() {
    local n
    n=$(sed -n "s/.*msg=totals .* $1=\\([0-9][0-9]*\\).*/\\1/p" "$work/server.err" | tail -n1)
    echo "${n:--1}"
}

# Stops the server (in the main shell, so that it is reaped) and sets the totals it printed.
stop_daemon() {
    stop_pid "$server_pid" 5 || true
    server_pid=""
    srv_tx=$(log_transactions "$work/server.err")
    srv_ok=$(log_total tls_handshakes)
    srv_failed=$(log_total tls_failed)
    srv_resumed=$(log_total tls_resumed)
}

# tsv_row FILE FIELD...: appends the fields to FILE as one tab-separated line.
tsv_row() {
    local file=$1
    shift
    (IFS=$'\t'; echo "$*") >>"$file"
}

floor_rows=$work/tls_floor.tsv
hs_rows=$work/handshakes.tsv
lg_rows=$work/loadgen.tsv
tsv_row "$hs_rows" server client proto kind connections client_resumed wall_ns cpu_ticks srv_ok srv_failed \
    srv_resumed client_errors first_error
tsv_row "$lg_rows" part mode per_conn conns sent accepted lost connections handshakes resumed client_errors \
    wall_ns client_cpu_us cpu_ticks srv_tx srv_ok srv_failed srv_resumed first_error

# s_time against $sport, pinned to the client core: $1 proto (1.2|1.3), $2 kind (full|resumed), $3 its -time.
s_time_client() {
    "${pin_client[@]}" timeout "$(client_limit)" openssl s_time -connect "127.0.0.1:$sport" \
        "$([[ $2 == full ]] && echo -new || echo -reuse)" "-tls${1/./_}" -time "$3"
}

# One handshake row: $1 server (blackhole|s_server), $2 client (s_time|python), $3 proto (1.2|1.3), $4 kind
# (full|resumed).
run_handshakes() {
    local server=$1 client=$2 proto=$3 kind=$4 t0 t1 c0 c1 n="" reused=0 errors=0 wall first_error="" rc=0
    local log=$work/client.out
    start_server "$server"
    c0=$(cpu_ticks "$server_pid")
    t0=$(date +%s%N)
    if [[ $client == s_time ]]; then
        s_time_client "$proto" "$kind" "$stime_s" >"$log" 2>&1 || rc=$?
    else
        local -a resume=()
        [[ $kind == resumed ]] && resume=(--resume)
        "${pin_client[@]}" timeout "$(client_limit)" python3 "$HELPER" handshake --port "$sport" --tls "$proto" \
            "${resume[@]}" --seconds "$py_s" >"$log" 2>&1 || rc=$?
    fi
    t1=$(date +%s%N)
    c1=$(cpu_ticks "$server_pid")
    stop_daemon
    wall=$((t1 - t0))
    if [[ $client == s_time ]]; then
        # "N connections in X.XXs; ..." (the first such line; the second repeats N with whole real seconds);
        # before it, one character per connection, "r" for a resumed one.
        n=$(sed -n 's/^\([0-9][0-9]*\) connections in [0-9.]*s;.*/\1/p' "$log" | head -n1)
        reused=$(grep -E '^[*rt3]+$' "$log" | tr -cd r | wc -c || true)
        if [[ -z $n ]] || ((rc != 0)); then
            errors=1 first_error="s_time exit $rc: $(grep -Ev '^[*rt3]*$' "$log" | head -n1 | tr '\t' ' ')"
        fi
    else
        # The helper's own wall time: from its first connection to its last (no interpreter start-up).
        IFS=$'\t' read -r n reused errors wall first_error <"$log" || true
        if ((rc != 0)) || ! [[ $n =~ ^[0-9]+$ && $reused =~ ^[0-9]+$ && $wall =~ ^[0-9]+$ ]]; then
            n=0 reused=0 wall=$((t1 - t0))
            errors=1 first_error="helper exit $rc: $(head -n1 "$log" | tr '\t' ' ')"
        fi
    fi
    tsv_row "$hs_rows" "$server" "$client" "$proto" "$kind" "${n:-0}" "$reused" "$wall" "$((c1 - c0))" "$srv_ok" \
        "$srv_failed" "$srv_resumed" "${errors:-1}" "$first_error"
    printf '  %-9s %-6s TLS %s %-7s %6d connections (%d resumed)  %5.2f s  %d server CPU ticks\n' "$server" \
        "$client" "$proto" "$kind" "${n:-0}" "$reused" "$((wall / 1000000))e-3" "$((c1 - c0))" >&2
}

# The load generator, its JSON report in $work/lg.json: $1 part (one: pinned to the client core, against the
# pinned daemon; shapes: unpinned), $2 messages per connection; the rest are its flags. --tls goes to $sport.
lg_client() {
    local part=$1 per_conn=$2 target=$port
    shift 2
    [[ " $* " == *" --tls "* ]] && target=$sport
    local -a pin=()
    [[ $part == one ]] && pin=("${pin_client[@]}")
    "${pin[@]}" timeout "$(client_limit)" "$LG" --target "127.0.0.1:$target" --messages-per-connection "$per_conn" \
        --size 1024 --json --quiet "$@" >"$work/lg.json" 2>"$work/lg.err"
}

# The daemon as the parts of the load generator run it: $1 part (one: pinned, --threads 1; shapes: default).
start_lg_daemon() {
    if [[ $1 == one ]]; then start_daemon pinned; else start_daemon; fi
}

# One load generator row: $1 part (one|shapes), $2 mode (plain, or tls1.2/tls1.3/starttls:RESUME), $3 messages
# per connection, $4 connections; the rest are the generator's flags.
run_loadgen() {
    local part=$1 mode=$2 per_conn=$3 conns=$4 c0 c1 rc=0 fields
    shift 4
    start_lg_daemon "$part"
    c0=$(cpu_ticks "$server_pid")
    lg_client "$part" "$per_conn" --connections "$conns" "$@" || rc=$?
    c1=$(cpu_ticks "$server_pid")
    stop_daemon
    local sent accepted lost made handshakes resumed errors wall client_cpu first_error
    if ! fields=$(python3 "$HELPER" lg-fields "$work/lg.json" "$rc" "$work/lg.err"); then
        fields=$(printf '0\t0\t0\t0\t0\t0\t1\t0\t0\tno JSON report (exit %s): %s' "$rc" \
            "$(head -n1 "$work/lg.err" | tr '\t' ' ')")
    fi
    IFS=$'\t' read -r sent accepted lost made handshakes resumed errors wall client_cpu first_error <<<"$fields"
    tsv_row "$lg_rows" "$part" "$mode" "$per_conn" "$conns" "$sent" "$accepted" "$lost" "$made" "$handshakes" \
        "$resumed" "$errors" "$wall" "$client_cpu" "$((c1 - c0))" "$srv_tx" "$srv_ok" "$srv_failed" "$srv_resumed" \
        "$first_error"
    printf '  %-16s %3s msg/conn  %6d accepted, %5d handshakes (%5d resumed)  %5.2f s  server: %6d transactions,' \
        "$mode" "$per_conn" "$accepted" "$handshakes" "$resumed" "$((wall / 1000000))e-3" "$srv_tx" >&2
    printf ' %5d handshakes (%5d resumed), %3d CPU ticks\n' "$srv_ok" "$srv_resumed" "$((c1 - c0))" >&2
}

echo "smtp-blackhole TLS benchmark ($( ((quick)) && echo quick || echo full ) run)" >&2

# What gets negotiated with each server, once per protocol version (the report's "negotiated" lines).
negotiated=()
for server in blackhole s_server; do
    start_server "$server"
    line=""
    for v in 1.2 1.3; do
        got=$(timeout 5 openssl s_client -connect "127.0.0.1:$sport" "-tls${v/./_}" -brief </dev/null 2>&1 |
            sed -n 's/^Protocol version: //p; s/^Ciphersuite: //p; s/^Signature type: //p; s/^Server Temp Key: //p' |
            paste -sd' ' - || true)
        line+="${line:+; }${got:-TLS $v: no answer}"
    done
    stop_daemon
    negotiated+=(--meta "negotiated_$server=$line")
done

echo "0. the TLS floor (bench/tls_floor.cpp, ${floor_s} s of CPU per case, core $server_core)" >&2
g++ -std=c++20 -O2 -Wall -Wextra "$ROOT/bench/tls_floor.cpp" -o "$work/tls_floor" -lssl -lcrypto
taskset -c "$server_core" "$work/tls_floor" "$work/cert.pem" "$work/key.pem" "$floor_s" >"$floor_rows"
column -t <"$floor_rows" | sed 's/^/  /' >&2

echo "1. handshakes (s_time -time $stime_s, Python $py_s s per row; servers on core $server_core," \
    "clients on core ${client_core:-any})" >&2
for server in blackhole s_server; do
    run_handshakes "$server" s_time 1.2 full
    run_handshakes "$server" s_time 1.2 resumed
    run_handshakes "$server" s_time 1.3 full
done
run_handshakes blackhole python 1.2 full
run_handshakes blackhole python 1.2 resumed
run_handshakes blackhole python 1.3 full
run_handshakes blackhole python 1.3 resumed

echo "2. one message per connection (load generator, $one_s s per row)" >&2
one=(--threads 1 --duration "${one_s}s" --messages "$one_max")
for v in 1.3 1.2; do
    run_loadgen one "tls$v:off" 1 1 "${one[@]}" --tls --tls-version "$v" --tls-resume off
    run_loadgen one "tls$v:ticket" 1 1 "${one[@]}" --tls --tls-version "$v" --tls-resume ticket
done
run_loadgen one tls1.2:id 1 1 "${one[@]}" --tls --tls-version 1.2 --tls-resume id
run_loadgen one plain 1 1 "${one[@]}"

echo "3. STARTTLS shapes (load generator, $shape_conns connections, --pipelining, $shape_s s per row)" >&2
shape=(--threads 2 --pipelining --duration "${shape_s}s" --messages "$shape_max")
for per_conn in "${shape_per_conn[@]}"; do
    run_loadgen shapes plain "$per_conn" "$shape_conns" "${shape[@]}"
    run_loadgen shapes starttls:ticket "$per_conn" "$shape_conns" "${shape[@]}" --starttls
    run_loadgen shapes starttls1.2:ticket "$per_conn" "$shape_conns" "${shape[@]}" --starttls --tls-version 1.2
    run_loadgen shapes starttls:off "$per_conn" "$shape_conns" "${shape[@]}" --starttls --tls-resume off
done

# Optional profiles (--profile): perf attached to the daemon during one more run of a part 1 and a part 2 row.
# Each adds "profileN=..." to the report: self time by library, then the top symbols (libcrypto has no symbols
# here, so its unresolved addresses are left out of that list; the library line counts them).
profiles=()
profile_run() {  # $1: label; $2: hs or one
    local label=$1 top
    echo "profile: perf record -e cpu-clock -g on the daemon: $label" >&2
    if [[ $2 == hs ]]; then start_server blackhole; else start_lg_daemon one; fi
    perf record -e cpu-clock -g -o "$work/perf.data" -p "$server_pid" >"$work/perf.out" 2>&1 &
    perf_pid=$!
    sleep 0.3
    if [[ $2 == hs ]]; then
        s_time_client 1.2 full "$stime_s" >"$work/client.out" 2>&1 || true
    else
        lg_client one 1 --connections 1 "${one[@]}" --tls --tls-version 1.3 || true
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
    profile_run "full TLS 1.2 handshakes (s_time -new -tls1_2)" hs
    profile_run "one message per connection over TLS 1.3 with tickets (load generator)" one
fi

bench_report tls python3 "$HELPER" report "$floor_rows" "$hs_rows" "$lg_rows" \
    --meta "openssl=$(openssl version | cut -d' ' -f1-2)" \
    --meta "python=$(python3 -c 'import platform; print(platform.python_version())')" \
    "${negotiated[@]}" \
    --meta "cores=servers on core $server_core, clients on core ${client_core:-any (one core only)}" \
    --meta "stime_seconds=$stime_s" \
    --meta "one_seconds=$one_s" \
    --meta "shape_seconds=$shape_s" \
    --meta "floor_seconds=$floor_s" \
    "${profiles[@]}"
# Exit status 1 when a count does not match or a client failed; the report is printed either way.
python3 "$HELPER" check "$floor_rows" "$hs_rows" "$lg_rows"
