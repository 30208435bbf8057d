#!/usr/bin/env python3
"""Turns bench/run.sh's raw rows into the markdown report, or checks them (--check).

Input: a tab-separated file with a header row and one row per (round, shape, server):
round, size, conc, per_conn, server, sent, counted, wall_ns, cpu_ticks, client_errors, first_error.
The table shows, per shape and server, the median over rounds of msg/s and of msg/CPU-s; a second table lists
every round's msg/s so the noise can be judged. Standard library only.
"""
import sys

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing report_lib
from report_lib import (clk_tck, count_lines, count_problems, elapsed_lines, fmt, group, machine_lines,  # noqa: E402
                        median, msg_cpu_s, msg_s, ratio, rounds_lines, run_shape_main, size_label)

SERVERS = ("blackhole-t1", "smtp-sink", "blackhole-t2")


def shape_key(r):
    return (r["size"], r["conc"], r["per_conn"])


def shape_label(key):
    size, conc, per_conn = key
    return f"{size_label(size)}, {per_conn} msg/conn, c={conc}"


def problems(rows):
    """Every row where a server's count differs from what was sent, or a client run failed."""
    return count_problems(rows, lambda r: shape_label(shape_key(r)))


def render(rows, meta):
    clk = clk_tck(meta)
    shapes, by = group(rows, shape_key, "server")  # shape -> server -> rows, one per round

    def msg_s_median(rs):
        return median(msg_s(r) for r in rs or [])

    def msg_cpu_median(rs):
        return median(msg_cpu_s(r, clk) for r in rs or [])

    rounds = max(r["round"] for r in rows)
    lines = [
        f"# smtp-blackhole vs postfix smtp-sink ({meta.get('mode', 'full')} run)",
        "",
        *machine_lines(meta),
        f"- servers: {meta.get('blackhole', '?')}; postfix smtp-sink {meta.get('postfix', '?')}",
        "- client: postfix smtp-source on the same machine, 127.0.0.1; each server started fresh, alone, per shape",
        "- msg/s: messages / wall time of the smtp-source run(s); msg/CPU-s: messages / server utime+stime "
        f"(/proc/PID/stat, {clk} ticks/s); each the median of {rounds} round(s)",
        "- blackhole = `--threads 1` (smtp-sink is one process); t2 = `--threads 2`, msg/s only "
        "(2 cores shared with the client)",
        "",
        "| shape | blackhole msg/s | smtp-sink msg/s | ratio msg/s | blackhole msg/CPU-s | smtp-sink msg/CPU-s "
        "| ratio msg/CPU-s | blackhole t2 msg/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for k in shapes:
        s = by[k]
        bh, sink, t2 = s.get("blackhole-t1"), s.get("smtp-sink"), s.get("blackhole-t2")
        cells = [
            shape_label(k),
            fmt(msg_s_median(bh)), fmt(msg_s_median(sink)), ratio(msg_s_median(bh), msg_s_median(sink)),
            fmt(msg_cpu_median(bh)), fmt(msg_cpu_median(sink)), ratio(msg_cpu_median(bh), msg_cpu_median(sink)),
            fmt(msg_s_median(t2)),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if meta.get("mode") == "quick":
        lines += ["", "Quick run: a smoke test; counts are too small for the numbers to mean much "
                  "(n/a: the server used less than one clock tick)."]
    if rounds > 1:
        lines += ["", *rounds_lines(shapes, by, SERVERS, ("blackhole", "smtp-sink", "blackhole t2"), shape_label, clk)]
    lines.append("")
    lines += count_lines(rows, problems(rows))
    if "perf" in meta:
        lines.append(f"Cycles per message: {meta['perf']}.")
    lines += elapsed_lines(meta)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(run_shape_main(__doc__, problems, render))
