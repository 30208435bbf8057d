#!/usr/bin/env bash
# The soak (issue 14): nothing lost, nothing counted twice, memory and descriptors flat, over millions of messages
# while everything else a sink is asked for happens at once. bench/soak.py does the work:
# - starts smtp-blackhole on 127.0.0.1 test ports with a certificate pair that SIGHUP reloads, the capture ring
#   bounded (--capture-messages 2000 --capture-bytes 8M) and sampling (--sample-rate 0.001);
# - runs the load generator with --verify in rounds of three shapes, each run in a flow of its own
#   (soak-rN-SHAPE): --pipelining (45% of each round), --bdat (45%), --starttls --pipelining with 25 messages a
#   connection and TLS resumption (10%), the message size changing by round (1 KiB, 4 KiB, 700 B, 16 KiB);
#   after each run its flow must hold exactly the run's messages, recipients and bytes, and is then reset;
# - meanwhile, at fixed intervals: /metrics (transactions_total never goes back), /api/v1/flows, the capture
#   list and its newest message every 0.2 s; a side epoch every 0.5 s (a fault rule at RCPT for the side
#   sender's recipients only, 3 refusals checked against the rule's seen/fired and the flow, the rule removed;
#   10 smtplib messages in flow soak-side checked exactly; both side flows reset; the capture ring emptied
#   every 5th epoch); SIGHUP every 3 s with the other pair (the reload line's fingerprint and a new handshake's
#   certificate checked); a slow connection every 0.25 s (idle, a partial command, a partial DATA, a partial
#   TLS ClientHello), abandoned without QUIT (every third with an RST) once eight are open;
# - at the end: the descriptor count back to its baseline, RSS (VmRSS every second) within 16 MiB after the
#   warm-up (the first round, or the first 20% of the run if longer), no error line, the daemon still
#   answering; then SIGTERM and its totals: transactions equal the load generator's accepted messages plus the
#   side ones, replies_451 the injected faults, one reload line per SIGHUP. Any miss is a PROBLEM line and exit
#   status 1.
# The load generator's --verify reads the sink's flows through a filter in the driver that leaves out the
# side flows (soak-side*), which the driver checks itself: --verify counts every other flow as a difference.
#
# Usage: bench/soak.sh [--short] [--messages N] [--out FILE] [--no-build]
#   --short       the CI size: 200,000 messages in 2 rounds (well under 2 minutes); prints only, saves nothing
#                 unless --out is given (--quick is the same)
#   --messages N  load generator messages in all (default 10,000,000 in 10 rounds)
#   --out FILE    where to save the markdown (default: bench/results/YYYY-MM-DD-soak.md for a full run)
#   --no-build    use build/ as it is instead of running scripts/build.sh first
# Needs: openssl, python3. Traffic goes to 127.0.0.1 only. Only processes this script starts are stopped, by PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/smtp-blackhole
LG=$ROOT/build/loadgen/smtp-blackhole-loadgen
# bench_args, bench_build, bench_setup, bench_meta, bench_out
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

command_line="bash bench/soak.sh $*"
messages=()
rest=()
while (($#)); do
    case $1 in
        --messages) messages=(--messages "${2:?--messages needs a number}"); shift ;;
        *) rest+=("$1") ;;
    esac
    shift
done
BENCH_FLAGS="--short"
bench_args "$0" "${rest[@]}"
((${flag[--short]:-0})) && quick=1
short=()
((quick)) && short=(--short)
bench_build
bench_setup smtp-soak "$LG" openssl python3
bench_out soak
meta=()
bench_meta "$ROOT" "$BIN"
python3 "$ROOT/bench/soak.py" --binary "$BIN" --loadgen "$LG" --work "$work" ${out:+--out "$out"} \
    "${messages[@]}" "${short[@]}" --command "$command_line" "${meta[@]}"
