#!/usr/bin/env python3
"""bench/sink_cost.sh's helpers: the two HTTP checks it makes on a running daemon, and the markdown report.

  flows URL EXPECT     GET URL (/api/v1/flows); print "ok", or what differs from EXPECT ("f1=250,f2=250")
  capture URL          GET URL (/metrics); print "CAPTURED EVICTED": messages ever put in the capture ring
                       (in it now + evicted) and evicted
  render RESULTS       the markdown report from sink_cost.sh's rows (--meta key=value, --out FILE)
  check RESULTS        print nothing; exit 1 on a count mismatch, a failed client run or a missing measurement

RESULTS is tab-separated with a header row and one row per daemon run:
kind (timed | callgrind), round, size (0: a callgrind baseline run without mail), config, sent, counted,
wall_ns, cpu_ticks, ir (-1: not measured), captured, evicted (-1: not read), flows (ok | - | a problem),
client_errors, first_error. Standard library only; what the bench reports share is in report_lib.py.
"""
import argparse
import json
import sys
import urllib.request

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing report_lib
from report_lib import (clk_tck, elapsed_lines, finish, fmt, load_rows, machine_lines, median, msg_cpu_s,  # noqa: E402
                        msg_s, outcome_lines, ratio, size_label)

CONFIGS = {  # name in the rows -> label in the report
    "discard": "pure discard",
    "flows": "flow counting",
    "sample1": "sampling 1%",
    "sampleall": "sampling all",
}
INTS = ("round", "size", "sent", "counted", "wall_ns", "cpu_ticks", "ir", "captured", "evicted", "client_errors")


def get(url):
    # 127.0.0.1 only: never through a proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as r:
        return r.read().decode()


def check_flows(url, expect):
    want = {}
    for item in expect.split(","):
        name, n = item.split("=")
        want[name] = int(n)
    try:
        doc = json.loads(get(url))
        got = {f["flow"]: f["messages"] for f in doc["flows"] if f["messages"]}
        if doc.get("overflow"):
            got["_overflow"] = doc["overflow"]
    except Exception as e:  # noqa: BLE001 - any failure is reported in the table, not raised
        return f"GET {url} failed: {e}"
    if got == want:
        return "ok"
    return "flows " + ", ".join(f"{k}={v}" for k, v in sorted(got.items())) + f" (expected {expect})"


def capture_counts(url):
    values = {}
    try:
        for line in get(url).splitlines():
            parts = line.split()
            if len(parts) == 2 and not line.startswith("#"):
                values[parts[0]] = int(float(parts[1]))
    except Exception:  # noqa: BLE001 - "-1 -1" shows in the table as not read
        return "-1 -1"
    held = values.get("smtp_blackhole_capture_messages", -1)
    evicted = values.get("smtp_blackhole_capture_evicted_total", -1)
    if held < 0 or evicted < 0:
        return "-1 -1"
    return f"{held + evicted} {evicted}"


def problems(rows):
    out = []
    for r in rows:
        shape = size_label(r["size"]) if r["size"] else "baseline (no mail)"
        where = f"{r['kind']} round {r['round']}, {shape}, {CONFIGS.get(r['config'], r['config'])}"
        if r["counted"] != r["sent"]:
            out.append(f"{where}: smtp-source sent {r['sent']}, the daemon counted {r['counted']}")
        if r["client_errors"]:
            out.append(f"{where}: {r['client_errors']} failed smtp-source run(s): {r['first_error']}")
        if r["flows"] not in ("ok", "-"):
            out.append(f"{where}: {r['flows']}")
        if r["kind"] == "callgrind" and r["ir"] < 0:
            out.append(f"{where}: no instruction count in the callgrind output")
    return out


def render(rows, meta):
    clk = clk_tck(meta)
    timed = [r for r in rows if r["kind"] == "timed"]
    cg = [r for r in rows if r["kind"] == "callgrind"]
    sizes = sorted({r["size"] for r in rows if r["size"]})
    configs = [c for c in CONFIGS if any(r["config"] == c for r in rows)]
    rounds = max((r["round"] for r in timed), default=0)
    cg_rounds = max((r["round"] for r in cg if r["size"]), default=0)
    baseline = {r["config"]: r["ir"] for r in cg if r["size"] == 0 and r["ir"] >= 0}

    def pick(rs, size, config):
        return [r for r in rs if r["size"] == size and r["config"] == config]

    def msg_s_median(size, config):
        return median(msg_s(r) for r in pick(timed, size, config))

    def msg_cpu_median(size, config):
        return median(msg_cpu_s(r, clk) for r in pick(timed, size, config))

    def base(config):  # a configuration without a baseline run of its own uses discard's (sink_cost.sh --quick)
        return baseline.get(config, baseline.get("discard"))

    def ir_msg(size, config):
        rs = [r for r in pick(cg, size, config) if r["ir"] >= 0 and r["sent"] > 0 and base(config) is not None]
        return median((r["ir"] - base(config)) / r["sent"] for r in rs)

    def captured(size, config):
        rs = [r for r in pick(timed, size, config) if r["captured"] >= 0]
        if not rs:
            return "n/a"
        return ", ".join(f"{r['captured']:,} / {r['evicted']:,}" for r in sorted(rs, key=lambda r: r["round"]))

    n_timed = {s: median(r["sent"] for r in timed if r["size"] == s) for s in sizes}
    n_cg = {s: median(r["sent"] for r in cg if r["size"] == s) for s in sizes}
    lines = [
        f"# smtp-blackhole: the cost of flow counting and sampling against pure discard ({meta.get('mode', 'full')} run)",
        "",
        *machine_lines(meta),
        f"- daemon: {meta.get('blackhole', '?')}; `--threads 1 --smtp-listen 127.0.0.1:0 --http-listen 127.0.0.1:0`, "
        "started fresh per run",
        "- configurations: pure discard = `--flow-key none --sample-rate 0 --sample-first-per-flow 0`; "
        "flow counting = the default `--flow-key header:X-Flow,rcpt-tag` with `--sample-rate 0 "
        "--sample-first-per-flow 0`; sampling 1% = default key, `--sample-rate 0.01 --sample-first-per-flow 0`; "
        "sampling all = `--sample-rate 1` (the default), the capture ring at its default bounds (1000 messages, "
        "64M), so it evicts",
        f"- load: postfix {meta.get('postfix', '?')} smtp-source `-d` on the same machine, "
        f"{meta.get('flows', '?')} runs per measurement, one per flow: 1 KiB = `-l 1024 -t load+fN@example.test` "
        "(the flow is the recipient's +tag; the X-Flow lookup misses), 100 KiB = `-F` a file with an `X-Flow: fN` "
        "header and a 100 KiB body",
        "- msg/s: messages / wall time of the smtp-source runs (`-s 20`); msg/CPU-s: messages / the daemon's "
        f"utime+stime (/proc/PID/stat, {clk} ticks/s); each the median of {rounds} round(s) of "
        + ", ".join(f"{fmt(n_timed[s])} x {size_label(s)}" for s in sizes if n_timed[s]),
        "- instr/msg: the daemon under `valgrind --tool=callgrind --collect-atstart=yes`, total Ir of a run with "
        + ", ".join(f"{fmt(n_cg[s])} x {size_label(s)}" for s in sizes if n_cg[s])
        + " (`-s 1`: client and daemon take turns, which steadies the count; 1 KiB counts still move by a few % "
        "between runs, with the machine's load)"
        + (" minus that of a run of the same configuration without mail"
           if all(c in baseline for c in configs) else
           " minus that of one run without mail (pure discard's, for every configuration)")
        + f", divided by the messages; the median of {cg_rounds} round(s): user-space "
        "instructions only (the kernel's TCP work, which dominates the CPU time, is not in it); callgrind counts "
        "`rep movsb`, which glibc's memcpy uses for large copies, as one instruction per byte, so instr/msg "
        "overstates what copying costs (capturing 100 KiB messages above all)",
        "- cost x: the per-message cost against pure discard of the same shape: discard msg/s / msg/s, "
        "discard msg/CPU-s / msg/CPU-s, instr/msg / discard instr/msg (1.00x: no extra cost; 1.25x: 25% more)",
        "",
        "| shape | configuration | msg/s | cost x | msg/CPU-s | cost x | instr/msg | cost x |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in sizes:
        for c in configs:
            cells = [
                size_label(s), CONFIGS[c],
                fmt(msg_s_median(s, c)), ratio(msg_s_median(s, "discard"), msg_s_median(s, c)),
                fmt(msg_cpu_median(s, c)), ratio(msg_cpu_median(s, "discard"), msg_cpu_median(s, c)),
                fmt(ir_msg(s, c)), ratio(ir_msg(s, c), ir_msg(s, "discard")),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    if meta.get("mode") == "quick":
        lines += ["", "Quick run: a smoke test; counts are too small for the timed numbers to mean much "
                  "(n/a: the daemon used less than one clock tick)."]
    lines += ["", "Every round, msg/s (msg/CPU-s), and the capture ring (messages captured / evicted, from "
              "/metrics after the round):", "",
              "| shape | configuration | msg/s (msg/CPU-s) per round | captured / evicted per round |",
              "| --- | --- | --- | --- |"]
    for s in sizes:
        for c in configs:
            rs = sorted(pick(timed, s, c), key=lambda r: r["round"])
            per_round = ", ".join(f"{fmt(msg_s(r))} ({fmt(msg_cpu_s(r, clk))})" for r in rs)
            lines.append(f"| {size_label(s)} | {CONFIGS[c]} | {per_round or 'n/a'} | {captured(s, c)} |")
    if cg:
        lines += ["", "Callgrind: total Ir of the run without mail, and instr/msg of every round:", "",
                  "| configuration | Ir without mail | " + " | ".join(f"{size_label(s)} instr/msg" for s in sizes) + " |",
                  "| --- | ---: | " + " | ".join("---" for _ in sizes) + " |"]
        for c in configs:
            cells = [CONFIGS[c], fmt(baseline[c]) if c in baseline else "n/a (discard's used)"]
            for s in sizes:
                rs = sorted((r for r in pick(cg, s, c) if r["ir"] >= 0 and r["sent"] > 0 and base(c) is not None),
                            key=lambda r: r["round"])
                cells.append(", ".join(fmt((r["ir"] - base(c)) / r["sent"]) for r in rs) or "n/a")
            lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    total = sum(r["sent"] for r in rows)
    lines += outcome_lines(problems(rows), f"Message counts: every run's `msg=totals ... transactions=N` equals what "
                           f"smtp-source sent ({total:,} messages in all), and after every timed run /api/v1/flows "
                           "held exactly the messages sent per flow (all under _default for pure discard); no "
                           "smtp-source errors.")
    lines += elapsed_lines(meta)
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("flows")
    p.add_argument("url")
    p.add_argument("expect")
    p = sub.add_parser("capture")
    p.add_argument("url")
    p = sub.add_parser("render")
    p.add_argument("results")
    p.add_argument("--meta", action="append", default=[], help="key=value shown in the report")
    p.add_argument("--out", help="also write the report here")
    p = sub.add_parser("check")
    p.add_argument("results")
    a = ap.parse_args()
    if a.cmd == "flows":
        print(check_flows(a.url, a.expect))
        return 0
    if a.cmd == "capture":
        print(capture_counts(a.url))
        return 0
    rows = load_rows(a.results, INTS)
    check = a.cmd == "check"
    return finish(check, lambda: problems(rows), lambda meta: render(rows, meta), bool(rows),
                  [] if check else a.meta, None if check else a.out)


if __name__ == "__main__":
    sys.exit(main())
