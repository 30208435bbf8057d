# Helpers shared by the bench/ scripts (run.sh, sink_cost.sh, tls.sh, loadgen.sh). Sourced, not run: it defines functions and
# sets nothing else. The callers run under `set -euo pipefail`.
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

# start_logged LOG TRIES COMMAND...: starts COMMAND (smtp-blackhole, or a wrapper that runs it) in the
# background with its stderr in LOG, sets server_pid, then waits up to TRIES x 0.05 s for the SMTP port in
# the log and sets port. Returns 1 when the port does not show up (server_pid is set; the caller stops it).
# Call it from the main shell, never from $(...), so that server_pid is set there.
start_logged() {
    local log=$1 tries=$2 i
    shift 2
    : >"$log"
    "$@" 2>"$log" &
    server_pid=$!
    port=""
    for ((i = 0; i < tries; i++)); do
        port=$(log_port "$log" smtp)
        [[ -n $port ]] && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
    done
    return 1
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
