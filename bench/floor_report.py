#!/usr/bin/env python3
"""Turns bench/floor.sh's rows into the markdown report, or checks them (--check).

Input: the rows of bench/lib.sh's run_shape, one per (round, shape, server), servers floor, floor-asio (the floor
over Asio), blackhole-t1, blackhole (default --threads) and smtp-sink; a row with per_conn > 1 is a persistent
shape. The tables show, per shape, the median over rounds of msg/CPU-s and of msg/s of each server, the Asio
floor's ratio to the floor, and the daemon's ratios to the floor, to the Asio floor and to smtp-sink; the first
table also says whether issue 13's goal against the floor is met. Standard library only.
"""
import sys

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing report_lib
from report_lib import (clk_tck, count_lines, count_problems, elapsed_lines, fmt, group, machine_lines,  # noqa: E402
                        median, msg_cpu_s, msg_s, ratio, rounds_lines, run_shape_main, size_label)

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


def problems(rows):
    return count_problems(rows, lambda r: shape_label(shape_key(r)))


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


def render(rows, meta):
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
    lines.append("")
    lines += count_lines(rows, problems(rows))
    lines += elapsed_lines(meta)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(run_shape_main(__doc__, problems, render))
