#!/usr/bin/env python3
"""Turns bench/run.sh's raw rows into the markdown report, or checks them (--check).

Input: a tab-separated file with a header row and one row per (round, shape, server):
round, size, conc, per_conn, server, sent, counted, wall_ns, cpu_ticks, client_errors, first_error.
The table shows, per shape and server, the median over rounds of msg/s and of msg/CPU-s; a second table lists
every round's msg/s so the noise can be judged. Standard library only.
"""
import argparse
import csv
import statistics
import sys

SERVERS = ("blackhole-t1", "smtp-sink", "blackhole-t2")


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for r in rows:
        for k in ("round", "size", "conc", "per_conn", "sent", "counted", "wall_ns", "cpu_ticks", "client_errors"):
            r[k] = int(r[k])
    return rows


def shape_key(r):
    return (r["size"], r["conc"], r["per_conn"])


def shape_label(key):
    size, conc, per_conn = key
    size_text = f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} B"
    return f"{size_text}, {per_conn} msg/conn, c={conc}"


def rate(n, seconds):
    return n / seconds if seconds > 0 else None


def fmt(x):
    if x is None:
        return "n/a"
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}x"


def problems(rows):
    """Every row where a server's count differs from what was sent, or a client run failed."""
    out = []
    for r in rows:
        where = f"round {r['round']}, {shape_label(shape_key(r))}, {r['server']}"
        if r["counted"] != r["sent"]:
            out.append(f"{where}: smtp-source sent {r['sent']}, server counted {r['counted']}")
        if r["client_errors"]:
            out.append(f"{where}: {r['client_errors']} failed smtp-source run(s): {r['first_error']}")
    return out


def render(rows, meta, clk_tck):
    shapes = []
    by = {}  # shape -> server -> rows, one per round
    for r in rows:
        k = shape_key(r)
        if k not in by:
            shapes.append(k)
            by[k] = {}
        by[k].setdefault(r["server"], []).append(r)

    def median(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    def msg_s(rs):
        return median(rate(r["sent"], r["wall_ns"] / 1e9) for r in rs or [])

    def msg_cpu(rs):
        return median(rate(r["sent"], r["cpu_ticks"] / clk_tck) for r in rs or [])

    rounds = max(r["round"] for r in rows)
    lines = [
        f"# smtp-blackhole vs postfix smtp-sink ({meta.get('mode', 'full')} run)",
        "",
        f"- date: {meta.get('date', '?')}",
        f"- machine: {meta.get('cpu', '?')}, nproc {meta.get('nproc', '?')}, {meta.get('kernel', '?')}",
        f"- load average (1, 5, 15 min): {meta.get('load', '?')}",
        f"- servers: {meta.get('blackhole', '?')}; postfix smtp-sink {meta.get('postfix', '?')}",
        "- client: postfix smtp-source on the same machine, 127.0.0.1; each server started fresh, alone, per shape",
        "- msg/s: messages / wall time of the smtp-source run(s); msg/CPU-s: messages / server utime+stime "
        f"(/proc/PID/stat, {clk_tck} ticks/s); each the median of {rounds} round(s)",
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
            fmt(msg_s(bh)), fmt(msg_s(sink)), ratio(msg_s(bh), msg_s(sink)),
            fmt(msg_cpu(bh)), fmt(msg_cpu(sink)), ratio(msg_cpu(bh), msg_cpu(sink)),
            fmt(msg_s(t2)),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if meta.get("mode") == "quick":
        lines += ["", "Quick run: a smoke test; counts are too small for the numbers to mean much "
                  "(n/a: the server used less than one clock tick)."]
    if rounds > 1:
        lines += ["", "Every round, msg/s (msg/CPU-s):", "",
                  "| shape | blackhole | smtp-sink | blackhole t2 |", "| --- | --- | --- | --- |"]
        for k in shapes:
            cells = [shape_label(k)]
            for server in SERVERS:
                cells.append(", ".join(
                    f"{fmt(rate(r['sent'], r['wall_ns'] / 1e9))} ({fmt(rate(r['sent'], r['cpu_ticks'] / clk_tck))})"
                    for r in sorted(by[k].get(server, []), key=lambda r: r["round"])))
            lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    total = sum(r["sent"] for r in rows)
    trouble = problems(rows)
    if trouble:
        lines.append("**Problems:**")
        lines.extend(f"- {p}" for p in trouble)
    else:
        lines.append(f"Message counts: every server counted exactly what smtp-source sent ({total:,} messages "
                     "in all); no smtp-source errors.")
    lines.append("")
    if "perf" in meta:
        lines.append(f"Cycles per message: {meta['perf']}.")
    if "elapsed" in meta:
        lines.append(f"Benchmark wall time: {meta['elapsed']} s.")
    return "\n".join(lines) + "\n"


def finish(rows, check, meta_args, out, problems_of, render_with):
    """The end of every bench report script. check: print the problems on stderr, 1 if there are any (or no
    rows at all). Otherwise: render the markdown with the --meta key=value pairs, print it, save it to `out`."""
    if check:
        trouble = problems_of(rows)
        for t in trouble:
            print(f"bench: {t}", file=sys.stderr)
        return 1 if trouble or not rows else 0
    meta = dict(m.split("=", 1) for m in meta_args)
    text = render_with(rows, meta, int(meta.get("clk_tck", "100")))
    sys.stdout.write(text)
    if out:
        with open(out, "w") as f:
            f.write(text)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("results")
    ap.add_argument("--meta", action="append", default=[], help="key=value shown in the report")
    ap.add_argument("--out", help="also write the report here")
    ap.add_argument("--check", action="store_true", help="print nothing; exit 1 on lost messages or client errors")
    a = ap.parse_args()
    return finish(load(a.results), a.check, a.meta, a.out, problems, render)


if __name__ == "__main__":
    sys.exit(main())
