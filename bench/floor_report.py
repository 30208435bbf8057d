#!/usr/bin/env python3
"""Turns bench/floor.sh's rows into the markdown report, or checks them (--check).

Input: the rows of bench/lib.sh's run_shape, one per (round, shape, server), servers floor, floor-asio (the floor
over Asio), blackhole-t1, blackhole (default --threads) and smtp-sink; a row with per_conn > 1 is a persistent
shape. The tables show, per shape, the median over rounds of msg/CPU-s and of msg/s of each server, the Asio
floor's ratio to the floor, and the daemon's ratios to the floor, to the Asio floor and to smtp-sink; the first
table also says whether issue 13's goal against the floor is met. With --syscalls ROWS --strace DIR (floor.sh
--syscalls): a table of system calls per message, per shape and server, from the `strace -c` summaries in DIR
(SIZE-CONC-PER_CONN-SERVER) and the message counts of ROWS. Standard library only.
"""
import os
import sys

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing report_lib
from report_lib import (RUN_SHAPE_INTS, clk_tck, count_lines, count_problems, elapsed_lines, fmt, group,  # noqa: E402
                        load_rows, machine_lines, median, msg_cpu_s, msg_s, ratio, rounds_lines, run_shape_main,
                        size_label)

SERVERS = ("floor", "floor-asio", "blackhole-t1", "blackhole", "smtp-sink")
HEADS = ("floor", "Asio floor", "blackhole t1", "blackhole default", "smtp-sink")  # the servers' column heads
DAEMONS = ("blackhole-t1", "blackhole")
# Issue 13: the daemon's transactions per server CPU-second over the floor's, with either --threads.
GOAL_1KIB, GOAL_LARGER = 0.95, 1.5


def shape_key(r):
    return (r["size"], r["conc"], r["per_conn"] > 1)


def shape_label(key):
    size, conc, persistent = key
    return f"{size_label(size)}, {'persistent' if persistent else '1 msg/conn'}, c={conc}"


def goal(key):
    return GOAL_1KIB if key[0] <= 1024 else GOAL_LARGER


# System calls by kind for the --syscalls table: (column head, the calls it counts).
SYSCALL_KINDS = (("receive", ("read", "recvfrom", "recvmsg", "readv")),
                 ("send", ("write", "sendto", "sendmsg", "writev")),
                 ("epoll_wait", ("epoll_wait", "epoll_pwait")), ("epoll_ctl", ("epoll_ctl",)),
                 ("accept", ("accept", "accept4")), ("close", ("close",)))


def strace_counts(path):
    """{syscall: (calls, errors)} from a `strace -c` summary."""
    counts = {}
    with open(path) as f:
        for line in f:
            t = line.split()
            if len(t) not in (5, 6) or t[-1] == "total" or not t[3].isdigit():
                continue
            counts[t[-1]] = (int(t[3]), int(t[4]) if len(t) == 6 else 0)
    return counts


def strace_path(a, r):
    return os.path.join(a.strace, f"{r['size']}-{r['conc']}-{r['per_conn']}-{r['server']}")


def problems(rows, a=None):
    label = lambda r: shape_label(shape_key(r))  # noqa: E731
    trouble = count_problems(rows, label)
    if a is not None and a.syscalls:
        traced = load_rows(a.syscalls, RUN_SHAPE_INTS)
        trouble += [f"system calls: {t}" for t in count_problems(traced, label)]
        trouble += [f"system calls: no strace summary for {r['server']}, {label(r)}" for r in traced
                    if not os.path.exists(strace_path(a, r)) or not strace_counts(strace_path(a, r))]
        if not traced:
            trouble.append("system calls: no rows")
    return trouble


def syscall_lines(a):
    """The --syscalls table: per shape and server, system calls per message, all and by kind."""
    traced = load_rows(a.syscalls, RUN_SHAPE_INTS)
    shapes, by = group(traced, shape_key, "server")
    head = ["shape", "server", "messages", "all", "all / floor", *(k for k, _ in SYSCALL_KINDS), "other"]
    lines = ["System calls per message (`strace -c -f` on the server, a pass of its own after the rounds above; "
             "failed calls, such as reads that found nothing, in brackets):", "",
             "| " + " | ".join(head) + " |", "| --- | --- |" + " ---: |" * (len(head) - 3) + " --- |"]
    for k in shapes:
        per_msg = {}
        for server in SERVERS:
            for r in by[k].get(server, []):
                path = strace_path(a, r)
                if r["sent"] <= 0 or not os.path.exists(path):
                    continue
                counts = strace_counts(path)
                n = r["sent"]
                total = sum(c for c, _ in counts.values()) / n
                per_msg[server] = total
                cells = [shape_label(k), HEADS[SERVERS.index(server)], f"{n:,}", f"{total:.2f}",
                         ratio(total, per_msg.get("floor"))]
                named = set()
                for _, names in SYSCALL_KINDS:
                    calls = sum(counts.get(c, (0, 0))[0] for c in names)
                    failed = sum(counts.get(c, (0, 0))[1] for c in names)
                    named.update(names)
                    cells.append(f"{calls / n:.2f}" + (f" ({failed / n:.2f})" if failed else ""))
                rest = sorted(((c / n, name) for name, (c, _) in counts.items() if name not in named), reverse=True)
                cells.append(", ".join(f"{name} {v:.2f}" for v, name in rest if v >= 0.005) or "")
                lines.append("| " + " | ".join(cells) + " |")
    return lines


def goal_cell(key, cpu):
    """"≥ 0.95x: met", which daemon missed it, or n/a (a server used less than one clock tick)."""
    want = goal(key)
    if any(cpu[s] is None for s in ("floor",) + DAEMONS):
        return f"≥ {want}x: n/a"
    missed = [("t1" if d == "blackhole-t1" else "default") for d in DAEMONS if cpu[d] / cpu["floor"] < want]
    return f"≥ {want}x: " + ("missed by " + ", ".join(missed) if missed else "met")


def table(shapes, medians, with_goal):
    """One row per shape: each server's median, then the Asio floor over the floor, and the daemon over the floor,
    over the Asio floor and over smtp-sink."""
    head = ["shape", *HEADS, "Asio floor / floor", "t1 / floor", "default / floor", "t1 / Asio floor",
            "default / Asio floor", "t1 / smtp-sink", "default / smtp-sink"]
    head += ["goal vs floor"] if with_goal else []
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1 - with_goal)
             + (" --- |" if with_goal else "")]
    for k in shapes:
        m = medians[k]
        cells = [shape_label(k)] + [fmt(m[s]) for s in SERVERS] + [ratio(m["floor-asio"], m["floor"])]
        cells += [ratio(m[d], m[base]) for base in ("floor", "floor-asio", "smtp-sink") for d in DAEMONS]
        if with_goal:
            cells.append(goal_cell(k, m))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render(rows, meta, a=None):
    clk = clk_tck(meta)
    shapes, by = group(rows, shape_key, "server")  # shape -> server -> rows, one per round
    cpu = {k: {s: median(msg_cpu_s(r, clk) for r in by[k].get(s, [])) for s in SERVERS} for k in shapes}
    wall = {k: {s: median(msg_s(r) for r in by[k].get(s, [])) for s in SERVERS} for k in shapes}
    rounds = max(r["round"] for r in rows)
    lines = [
        f"# smtp-blackhole vs the floor and postfix smtp-sink ({meta.get('mode', 'full')} run)",
        "",
        *machine_lines(meta),
        f"- servers: {meta.get('blackhole', '?')}, `--threads 1` (t1) and its default, one thread per CPU "
        f"(default; nproc {meta.get('nproc', '?')}); postfix smtp-sink {meta.get('postfix', '?')} (one process); "
        "the floor, `bench/floor.cpp` (g++ -O2; one thread, epoll, canned replies, a byte loop for the end of "
        "data); the Asio floor, `bench/floor_asio.cpp` (the same replies through Boost.Asio as the daemon uses it)",
        "- client: postfix smtp-source on the same machine, 127.0.0.1, one command per round trip; each server "
        "started fresh, alone, per shape; persistent: `-d`, every session keeps its connection for the run",
        "- msg/CPU-s: transactions / server utime+stime, all threads "
        f"(/proc/PID/stat, {clk} ticks/s); msg/s: transactions / wall time of the smtp-source run; each the "
        f"median of {rounds} round(s)",
        "",
        "Transactions per server CPU-second (goals from issue 13: ≥ 0.95x the floor at 1 KiB, ≥ 1.5x at 100 KiB):",
        "",
        *table(shapes, cpu, True),
        "",
        "Messages per second (the client shares the machine's cores):",
        "",
        *table(shapes, wall, False),
    ]
    if meta.get("mode") == "quick":
        lines += ["", "Quick run: a smoke test; counts are too small for the numbers to mean much "
                  "(n/a: the server used less than one clock tick)."]
    if rounds > 1:
        lines += ["", *rounds_lines(shapes, by, SERVERS, HEADS, shape_label, clk)]
    if a is not None and a.syscalls:
        lines += ["", *syscall_lines(a)]
    lines.append("")
    lines += count_lines(rows, problems(rows, a))
    lines += elapsed_lines(meta)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(run_shape_main(__doc__, problems, render,
                            (("--syscalls", "rows of the --syscalls pass (run_shape's format)"),
                             ("--strace", "the folder of that pass's strace -c summaries"))))
