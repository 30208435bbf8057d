# Helpers shared by the bench/ scripts (run.sh, floor.sh, sink_cost.sh, tls.sh, loadgen.sh, soak.sh): their options,
# set-up and clean-up, starting and stopping the daemon and smtp-sink, the time budget of client runs, smtp-source
# runs against one server at a time, and the report's ending. Sourced, not run: it defines functions and sets
# nothing else. The callers run under `set -euo pipefail`.
# shellcheck shell=bash

# Stops one process we started: SIGTERM, up to $2 seconds of grace, then SIGKILL. Returns its exit status.
# Call it from the shell that started the process, never from $(...), so that `wait` reaps it.
stop_pid() {
    local pid=$1 grace=${2:-5} i rc=0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 20; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || rc=$?
    return "$rc"
}

# utime + stime of a process, all its threads included, in clock ticks.
cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }           # drop "pid (comm) ": what is left starts at field 3, state
    # shellcheck disable=SC2086
    set -- $stat
    echo $((${12} + ${13}))
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The port of smtp-blackhole's first "listening PROTO 127.0.0.1:PORT" line in log file $1 ($2: smtp or http);
# prints nothing when there is no such line yet.
log_port() {
    sed -n "s/.*listening $2 127\\.0\\.0\\.1:\\([0-9][0-9]*\\).*/\\1/p" "$1" | head -n1
}

# N of the last "msg=totals ... transactions=N" line in smtp-blackhole's log file $1, or -1.
log_transactions() {
    local n
    n=$(sed -n 's/.*msg=totals .*transactions=\([0-9][0-9]*\).*/\1/p' "$1" | tail -n1)
    echo "${n:--1}"
}

# wait_log_port LOG PROTO TRIES: prints the port of the first "listening PROTO" line in LOG (see log_port) once
# it is there, waiting up to TRIES x 0.05 s while $server_pid runs; returns 1 when it does not show up.
wait_log_port() {
    local i p
    for ((i = 0; i < $3; i++)); do
        p=$(log_port "$1" "$2")
        if [[ -n $p ]]; then
            echo "$p"
            return 0
        fi
        kill -0 "$server_pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# start_logged LOG TRIES COMMAND...: starts COMMAND (smtp-blackhole, or a wrapper that runs it) in the
# background with its stderr in LOG, sets server_pid, then waits up to TRIES x 0.05 s for the SMTP port in
# the log and sets port. Returns 1 when the port does not show up (server_pid is set; the caller stops it).
# Call it from the main shell, never from $(...), so that server_pid is set there.
start_logged() {
    local log=$1 tries=$2
    shift 2
    : >"$log"
    "$@" 2>"$log" &
    server_pid=$!
    # shellcheck disable=SC2034  # port is for the caller
    port=$(wait_log_port "$log" smtp "$tries") || return 1
}

# start_failed LOG [WHAT]: says the daemon (WHAT: how it was run) did not start, shows its log, and exits 1
# (the EXIT trap stops it).
start_failed() {
    echo "$(basename "$0"): smtp-blackhole${2:+ ($2)} did not start:" >&2
    cat "$1" >&2
    exit 1
}

# Appends to the array `meta` the report.py-style "--meta key=value" arguments every bench report shows:
# date, nproc, cpu, kernel, the daemon's version and commit ($1: repository root, $2: the binary), postfix's
# version, clock ticks per second.
bench_meta() {
    local root=$1 bin=$2 commit
    commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [[ -n $(git -C "$root" status --porcelain -- src 2>/dev/null) ]]; then
        commit="$commit (src/ has uncommitted changes)"
    fi
    meta+=(
        --meta "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
        --meta "nproc=$(nproc)"
        --meta "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
        --meta "kernel=$(uname -sr)"
        --meta "blackhole=$("$bin" --version 2>/dev/null | head -n1), commit $commit"
        --meta "postfix=$(postconf -dh mail_version 2>/dev/null || echo unknown)"
        --meta "clk_tck=$(getconf CLK_TCK)"
    )
}

# Unless --no-build was given: installs what is missing of the benchmark packages (scripts/install-deps.sh
# bench: postfix's smtp-source and smtp-sink, valgrind, perf...) and builds the daemon and the load generator.
bench_build() {
    ((build)) || return 0
    bash "$ROOT/scripts/install-deps.sh" bench
    bash "$ROOT/scripts/build.sh"
}

# The options every bench script takes: --quick, --no-build, --out FILE, --help (prints the script's opening
# comment). Sets quick, build and out. $1 is the script ($0); the names in BENCH_FLAGS (e.g. "--profile") are
# also accepted and set to 1 in the associative array `flag`.
bench_args() {
    local script=$1
    shift
    quick=0
    build=1
    out=""
    declare -gA flag=()
    while (($#)); do
        case $1 in
            --quick) quick=1 ;;
            --no-build) build=0 ;;
            --out) out=${2:?--out needs a file}; shift ;;
            -h|--help) sed -n '2,/^set -euo/p' "$script" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
            *)
                if [[ " ${BENCH_FLAGS:-} " == *" $1 "* ]]; then
                    flag[$1]=1
                else
                    echo "$(basename "$script"): unknown argument: $1 (see --help)" >&2
                    exit 2
                fi
                ;;
        esac
        shift
    done
}

# The start every bench script shares, after its options: each TOOL (an absolute path, or a command name) and
# the daemon ($BIN) must be there; a scratch folder $work (name prefix $1) is made; at exit the server
# ($server_pid) and a profiler ($perf_pid), if one runs, are stopped and $work removed; Ctrl-C exits 130.
# Also sets load_start, the load average now (other work on the machine skews numbers; the report shows it).
bench_setup() {
    local prefix=$1 tool
    shift
    for tool in "$@" "$BIN"; do
        if [[ $tool == /* && -x $tool ]] || { [[ $tool != /* ]] && command -v "$tool" >/dev/null; }; then continue; fi
        echo "$(basename "$0"): $tool not found (scripts/install-deps.sh bench installs the tools," \
            "scripts/build.sh builds the daemon)" >&2
        exit 1
    done
    work=$(mktemp -d "${TMPDIR:-/tmp}/$prefix.XXXXXX")
    server_pid=""
    perf_pid=""
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    load_start=$(cut -d' ' -f1-3 /proc/loadavg)
}

bench_cleanup() {
    if [[ -n $perf_pid ]]; then stop_pid "$perf_pid" 5 || true; fi
    if [[ -n $server_pid ]]; then stop_pid "$server_pid" 2 || true; fi
    rm -rf "$work"
}

# Prints how many seconds the next client run may take: client_timeout, or what is left of the run's budget
# (until $deadline) if that is less, at least 1. Returns 1 when the budget is used up.
# shellcheck disable=SC2154  # deadline and client_timeout are the calling script's
client_limit() {
    local left=$((deadline - SECONDS))
    if ((left < 1)); then
        echo 1
        return 1
    fi
    echo $((left < client_timeout ? left : client_timeout))
}

# After the client runs of one measurement, logged to file $1: unless the caller's first_error is set, the log's
# first line is it, and output in the log makes a run without failures count one error (the caller's errors).
log_client_errors() {
    if [[ -z $first_error && -s $1 ]]; then first_error=$(head -n1 "$1" | tr '\t' ' '); fi
    if ((errors == 0)) && [[ -s $1 ]]; then errors=1; fi
    return 0
}

# Sets `out` to bench/results/YYYY-MM-DD-$1.md for a full run when --out was not given (YYYY-MM-DD-$1-2.md,
# -3... when a run of the same day is there already: results are records, never overwritten), and makes its folder.
bench_out() {
    if [[ -z $out ]] && ((!quick)); then
        local base n=2
        base=$ROOT/bench/results/$(date -u +%F)-$1
        out=$base.md
        while [[ -e $out ]]; do out=$base-$((n++)).md; done
    fi
    if [[ -n $out ]]; then mkdir -p "$(dirname "$out")"; fi
}

# bench_report NAME COMMAND...: runs the report command with the --meta pairs every report shows (bench_meta,
# the load average at start and now, the mode, the elapsed seconds) and --out (see bench_out), and says where
# the report was saved.
bench_report() {
    local name=$1
    shift
    bench_out "$name"
    meta=()
    bench_meta "$ROOT" "$BIN"
    "$@" "${meta[@]}" \
        --meta "load=$load_start at start, $(cut -d' ' -f1-3 /proc/loadavg) at end" \
        --meta "mode=$( ((quick)) && echo quick || echo full )" \
        --meta "elapsed=${SECONDS}" \
        ${out:+--out "$out"}
    if [[ -n $out ]]; then echo "saved $out" >&2; fi
}

# --- smtp-source against one server at a time (run.sh, floor.sh) ---
# These use the caller's SOURCE and SINK (postfix's smtp-source and smtp-sink), work, rounds, shapes, budget and
# the server they started (server_pid, port); run_rounds sets round.

# start_blackhole [THREADS]: starts smtp-blackhole with THREADS worker threads (none: its default); sets
# server_pid and port, leaves its stderr in $work/server.err.
start_blackhole() {
    start_logged "$work/server.err" 100 \
        "$BIN" --smtp-listen 127.0.0.1:0 ${1:+--threads "$1"} --drain-timeout 2s --log-level info ||
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
    echo "$(basename "$0"): smtp-sink did not start:" >&2
    cat "$work/server.err" >&2
    exit 1
}

# Stops the current server and sets `counted` to how many messages it says it received (-1: no count found):
# $1 sink reads smtp-sink's counter, anything else the "msg=totals ... transactions=N" line in
# $work/server.err. Runs in the main shell, never in $(...), so that `wait` reaps the server and server_pid is
# cleared here.
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

# Sets `results` to $work/results.tsv, started with the header of the rows run_shape writes, and `errlog`.
start_results() {
    results=$work/results.tsv
    errlog=$work/client.err
    printf 'round\tsize\tconc\tper_conn\tserver\tsent\tcounted\twall_ns\tcpu_ticks\tclient_errors\tfirst_error\n' \
        >"$results"
}

# run_shape SERVER KIND SIZE CONC PER_CONN TOTAL: smtp-source sends TOTAL messages of SIZE bytes over CONC
# sessions to the server on $port/$server_pid, then the server is stopped (stop_and_count KIND) and a row
# appended to $results. PER_CONN 1: one run, a connection per message; else TOTAL / (PER_CONN x CONC) runs of
# `-d -m PER_CONN*CONC`, each session keeping its connection for the run (one run when PER_CONN*CONC = TOTAL).
# shellcheck disable=SC2154  # budget is the calling script's
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

# run_rounds SERVER...: for each of `rounds` rounds, each shape in `shapes` ("SIZE CONC PER_CONN TOTAL", see
# run_shape) and each SERVER, the caller's start_server SERVER (starts it, sets server_pid, port and kind, the
# stop_and_count KIND), then run_shape. The server order rotates by round, so a burst of other load on the machine
# spoils one sample rather than a column.
# shellcheck disable=SC2154  # rounds and shapes are the calling script's
run_rounds() {
    local -a names=("$@")
    local shape size conc per_conn total k server
    for ((round = 1; round <= rounds; round++)); do
        for shape in "${shapes[@]}"; do
            read -r size conc per_conn total <<<"$shape"
            echo "round $round/$rounds: $((size / 1024)) KiB, $per_conn msg/conn, concurrency $conc, $total messages" >&2
            for ((k = 0; k < ${#names[@]}; k++)); do
                server=${names[(k + round - 1) % ${#names[@]}]}
                start_server "$server"
                run_shape "$server" "$kind" "$size" "$conc" "$per_conn" "$total"
            done
        done
    done
}
