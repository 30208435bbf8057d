"""What the bench/ report scripts share (report.py, floor_report.py, sink_cost_report.py, tls_helper.py): reading
the rows the shell scripts write, checking their message counts, rates and medians, number formatting, the
report's opening and closing lines, and the ending that either checks the rows or renders, prints and saves the
report. Standard library only."""
import argparse
import csv
import statistics
import sys


# The integer columns of bench/lib.sh's run_shape rows (the others: server, first_error).
RUN_SHAPE_INTS = ("round", "size", "conc", "per_conn", "sent", "counted", "wall_ns", "cpu_ticks", "client_errors")


def load_rows(path, ints):
    """A tab-separated file with a header row, as one dict a row; the columns named in `ints` become ints."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for r in rows:
        for k in ints:
            r[k] = int(r[k])
    return rows


def group(rows, key, sub):
    """The rows by key(row), in the order the keys first appear, then by row[sub]: (keys, {key: {sub: rows}})."""
    keys, by = [], {}
    for r in rows:
        k = key(r)
        if k not in by:
            keys.append(k)
            by[k] = {}
        by[k].setdefault(r[sub], []).append(r)
    return keys, by


def rate(n, d):
    """n per d; None when d is 0 (a run that used less than one clock tick)."""
    return n / d if d > 0 else None


def msg_s(r):
    """Messages per second of wall time of one row (sent, wall_ns)."""
    return rate(r["sent"], r["wall_ns"] / 1e9)


def msg_cpu_s(r, clk_tck):
    """Messages per server CPU-second of one row (sent, cpu_ticks)."""
    return rate(r["sent"], r["cpu_ticks"] / clk_tck)


def count_problems(rows, label):
    """Every row of an smtp-source run (bench/lib.sh's run_shape) where the server's count differs from what was
    sent, or a client run failed; label(row) names the row's shape."""
    out = []
    for r in rows:
        where = f"round {r['round']}, {label(r)}, {r['server']}"
        if r["counted"] != r["sent"]:
            out.append(f"{where}: smtp-source sent {r['sent']}, server counted {r['counted']}")
        if r["client_errors"]:
            out.append(f"{where}: {r['client_errors']} failed smtp-source run(s): {r['first_error']}")
    return out


def median(values):
    """The median of the values that are not None, or None."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(x):
    if x is None:
        return "n/a"
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def ratio(a, b, suffix="x"):
    """a / b as "1.25x" (n/a when either is missing or b is 0)."""
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}{suffix}"


def size_label(size):
    return f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} B"


def clk_tck(meta):
    return int(meta.get("clk_tck", "100"))


def machine_lines(meta):
    """The report's first list items: when, on what, and how busy the machine was."""
    return [
        f"- date: {meta.get('date', '?')}",
        f"- machine: {meta.get('cpu', '?')}, nproc {meta.get('nproc', '?')}, {meta.get('kernel', '?')}",
        f"- load average (1, 5, 15 min): {meta.get('load', '?')}",
    ]


def outcome_lines(trouble, all_good):
    """Every problem found, or the sentence that says every count matched; then an empty line."""
    if trouble:
        return ["**Problems:**"] + [f"- {p}" for p in trouble] + [""]
    return [all_good, ""]


def rounds_lines(shapes, by, servers, heads, label, clk_tck):
    """The table of every round of run_shape rows: a row a shape (label(key)), a column a server (heads), each
    round's "msg/s (msg/CPU-s)"; shapes and by as group() gives them."""
    lines = ["Every round, msg/s (msg/CPU-s):", "",
             "| shape | " + " | ".join(heads) + " |", "| --- |" + " --- |" * len(heads)]
    for k in shapes:
        cells = [label(k)]
        for server in servers:
            cells.append(", ".join(f"{fmt(msg_s(r))} ({fmt(msg_cpu_s(r, clk_tck))})"
                                   for r in sorted(by[k].get(server, []), key=lambda r: r["round"])))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def count_lines(rows, trouble):
    """outcome_lines for run_shape rows: every problem, or that every server counted what smtp-source sent."""
    total = sum(r["sent"] for r in rows)
    return outcome_lines(trouble, f"Message counts: every server counted exactly what smtp-source sent "
                         f"({total:,} messages in all); no smtp-source errors.")


def elapsed_lines(meta):
    return [f"Benchmark wall time: {meta['elapsed']} s."] if "elapsed" in meta else []


def finish(check, problems, render, have_rows, meta_args=(), out=None, who="bench"):
    """The end of every bench report script. check: print problems() on stderr, exit status 1 if there are any
    (or no rows at all). Otherwise: render(meta) with the --meta key=value pairs, print it, save it to `out`."""
    if check:
        trouble = problems()
        for t in trouble:
            print(f"{who}: {t}", file=sys.stderr)
        return 1 if trouble or not have_rows else 0
    text = render(dict(m.split("=", 1) for m in meta_args))
    sys.stdout.write(text)
    if out:
        with open(out, "w") as f:
            f.write(text)
    return 0


def run_shape_main(description, problems, render, options=()):
    """The command line of a report over bench/lib.sh's run_shape rows (report.py, floor_report.py): RESULTS,
    --meta key=value (repeated), --out FILE, --check; problems(rows) and render(rows, meta) as in finish. With
    `options` ((flag, help) pairs of optional arguments), problems and render also get the parsed arguments."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("results")
    ap.add_argument("--meta", action="append", default=[], help="key=value shown in the report")
    ap.add_argument("--out", help="also write the report here")
    ap.add_argument("--check", action="store_true", help="print nothing; exit 1 on lost messages or client errors")
    for flag, text in options:
        ap.add_argument(flag, help=text)
    a = ap.parse_args()
    rows = load_rows(a.results, RUN_SHAPE_INTS)
    more = (a,) if options else ()
    return finish(a.check, lambda: problems(rows, *more), lambda meta: render(rows, meta, *more), bool(rows),
                  a.meta, a.out)
