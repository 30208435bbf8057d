#!/usr/bin/env python3
"""Client, load generator reader and report for bench/tls.sh. Standard library only; talks to 127.0.0.1 only.

  tls_helper.py handshake --port P --tls 1.2|1.3 [--resume] --seconds T [--timeout S]
      One connection at a time to an implicit-TLS port for T seconds: connect, handshake (offering the last
      session with --resume), read the 220 greeting (which also takes in TLS 1.3 session tickets), close.
      Prints one tab-separated line: connections, reused, errors, wall_ns, first_error (last, may be empty).
  tls_helper.py lg-fields REPORT.json EXIT_STATUS STDERR_FILE
      The figures of one smtp-blackhole-loadgen --json report as one tab-separated line: sent, accepted, lost,
      connections, tls_handshakes, tls_resumed, errors (refused messages and every kind of error, at least 1
      when the generator's exit status was not 0), wall_ns, client_cpu_us (the generator's own CPU), first_error.
      Exit status 1 when there is no report.
  tls_helper.py report FLOOR.tsv HANDSHAKES.tsv LOADGEN.tsv [--meta key=value]... [--out FILE]
  tls_helper.py check FLOOR.tsv HANDSHAKES.tsv LOADGEN.tsv
      The markdown report; or no output and exit status 1 when a count does not match (see problems()).
"""
import argparse
import json
import socket
import ssl
import sys
import time

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing report_lib
from report_lib import (clk_tck, elapsed_lines, finish, fmt, group, load_rows, machine_lines,  # noqa: E402
                        outcome_lines, rate, ratio)

HOST = "127.0.0.1"


def client_context(version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False          # the daemon's certificate is self-signed
    ctx.verify_mode = ssl.CERT_NONE
    if version:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


def one_line(text):
    return " ".join(text.split())[:200]


def cmd_handshake(a):
    ctx = client_context(ssl.TLSVersion.TLSv1_2 if a.tls == "1.2" else ssl.TLSVersion.TLSv1_3)
    session, n, reused, errors, first_error = None, 0, 0, 0, ""
    t0 = time.monotonic_ns()
    deadline = t0 + int(a.seconds * 1e9)
    while time.monotonic_ns() < deadline:
        try:
            with socket.create_connection((HOST, a.port), timeout=a.timeout) as raw:
                with ctx.wrap_socket(raw, session=session if a.resume else None) as s:
                    greeting = b""
                    while not greeting.endswith(b"\r\n"):
                        chunk = s.recv(512)
                        if not chunk:
                            raise ConnectionError("closed before the 220 greeting")
                        greeting += chunk
                    if not greeting.startswith(b"220"):
                        raise ConnectionError(f"greeting: {greeting[:80]!r}")
                    reused += s.session_reused
                    session = s.session
            n += 1
        except Exception as e:  # noqa: BLE001
            errors += 1
            first_error = first_error or f"{type(e).__name__}: {e}"
            if errors > 20:
                break
    print(n, reused, errors, time.monotonic_ns() - t0, one_line(first_error), sep="\t")
    return 0


def cmd_lg_fields(a):
    try:
        with open(a.report) as f:
            j = json.load(f)
    except (OSError, ValueError):
        return 1
    errors = j["refused"] + sum(j["errors"].values())
    first_error = j["first_error"] or ""
    if a.status != 0 and errors == 0:
        with open(a.stderr, errors="replace") as f:
            errors, first_error = 1, f"exit status {a.status}: {f.readline()}"
    print(j["sent"], j["accepted"], j["lost"], j["connections"], j["tls_handshakes"], j["tls_resumed"], errors,
          round(j["elapsed_s"] * 1e9), round(j["cpu_s"] * 1e6), one_line(first_error), sep="\t")
    return 0


# ---- report -------------------------------------------------------------------------------------------------

HS_INTS = ("connections", "client_resumed", "wall_ns", "cpu_ticks", "srv_ok", "srv_failed", "srv_resumed",
           "client_errors")
LG_INTS = ("per_conn", "conns", "sent", "accepted", "lost", "connections", "handshakes", "resumed",
           "client_errors", "wall_ns", "client_cpu_us", "cpu_ticks", "srv_tx", "srv_ok", "srv_failed", "srv_resumed")
FLOOR_INTS = ("count", "resumed", "server_ns_per", "client_ns_per")
# The cases bench/tls_floor.cpp measures: (case, proto, kind).
FLOOR_CASES = (("handshake", "1.2", "full"), ("handshake", "1.2", "ticket"), ("handshake", "1.2", "id"),
               ("handshake", "1.3", "full"), ("handshake", "1.3", "ticket"), ("message", "1.2", "1KiB"),
               ("message", "1.3", "1KiB"))
SERVERS = {"blackhole": "smtp-blackhole", "s_server": "`s_server`"}
CLIENTS = {"s_time": "`s_time`", "python": "Python"}


def resumed_enough(resumed, wanted):
    """Whether `resumed` of the `wanted` handshakes that could resume did (a few may miss, as in any run)."""
    return resumed >= wanted * 0.99


def hs_problems(r):
    """What does not add up in one handshake row. s_time's -reuse makes one uncounted connection first; the
    Python client's first connection has nothing to resume. s_server counts nothing: only the client's view."""
    out = []
    first_full = 1 if r["client"] == "python" else 0
    if r["kind"] == "resumed" and not resumed_enough(r["client_resumed"], r["connections"] - first_full):
        out.append(f"the client resumed only {r['client_resumed']} of {r['connections']} handshakes")
    if r["kind"] == "full" and r["client_resumed"]:
        out.append(f"the client resumed {r['client_resumed']} handshakes in a full-handshake run")
    if r["client_errors"]:
        out.append(f"{r['client_errors']} client error(s): {r['first_error']}")
    if r["server"] != "blackhole":
        return out
    extra = 1 if r["client"] == "s_time" and r["kind"] == "resumed" else 0
    seen = r["srv_ok"] + r["srv_failed"]
    if seen != r["connections"] + extra:
        out.append(f"client made {r['connections'] + extra} connections, server saw {seen} handshakes")
    if r["kind"] == "resumed" and not resumed_enough(r["srv_resumed"], r["connections"] - first_full):
        out.append(f"only {r['srv_resumed']} of {r['connections']} handshakes resumed (server count)")
    if r["kind"] == "full" and r["srv_resumed"]:
        out.append(f"{r['srv_resumed']} resumed handshakes in a full-handshake run")
    # s_time closes a TLS 1.3 connection as soon as its side of the handshake is done, and the server's
    # session-ticket write may then meet a reset (see the report's note).
    if r["srv_failed"] and not (r["client"] == "s_time" and r["proto"] == "1.3"):
        out.append(f"{r['srv_failed']} failed handshake(s) on the server")
    return out


def lg_problems(r):
    """What does not add up in one load generator row: the daemon's counts against the generator's."""
    out = []
    resume = r["mode"].partition(":")[2]
    if r["client_errors"]:
        out.append(f"{r['client_errors']} error(s): {r['first_error']}")
    if r["accepted"] == 0 or r["accepted"] != r["sent"] or r["lost"]:
        out.append(f"sent {r['sent']}, accepted {r['accepted']}, lost {r['lost']}")
    if r["srv_tx"] != r["accepted"]:
        out.append(f"generator accepted {r['accepted']}, daemon counted {r['srv_tx']}")
    if (r["srv_ok"], r["srv_failed"], r["srv_resumed"]) != (r["handshakes"], 0, r["resumed"]):
        out.append(f"generator: {r['handshakes']} handshakes, {r['resumed']} resumed; daemon: {r['srv_ok']} ok, "
                   f"{r['srv_failed']} failed, {r['srv_resumed']} resumed")
    if r["handshakes"] != (0 if r["mode"] == "plain" else r["connections"]):
        out.append(f"{r['handshakes']} TLS handshakes for {r['connections']} connections")
    if resume == "off" and r["resumed"]:
        out.append(f"{r['resumed']} resumed handshakes with --tls-resume off")
    if resume in ("ticket", "id") and not resumed_enough(r["resumed"], r["handshakes"] - r["conns"]):
        out.append(f"only {r['resumed']} of {r['handshakes']} handshakes resumed")
    return out


def floor_problems(floor):
    out = []
    seen = {(r["case"], r["proto"], r["kind"]): r for r in floor}
    for key in FLOOR_CASES:
        r = seen.get(key)
        if r is None or r["count"] == 0:
            out.append(f"TLS floor: no {' '.join(key)} measured")
        elif key[0] == "handshake" and r["resumed"] != (0 if key[2] == "full" else r["count"]):
            out.append(f"TLS floor: {' '.join(key)}: {r['resumed']} of {r['count']} handshakes resumed")
    return out


def problems(floor, hs, lg):
    out = floor_problems(floor)
    for r in hs:
        where = f"handshakes, {r['server']} {r['client']} TLS {r['proto']} {r['kind']}"
        out.extend(f"{where}: {p}" for p in hs_problems(r))
    for r in lg:
        out.extend(f"{r['part']} {r['mode']} {r['per_conn']} msg/conn: {p}" for p in lg_problems(r))
    return out


def cpu_us(r, n, clk):
    """Server CPU microseconds per n (handshakes, connections) of one row."""
    return rate(r["cpu_ticks"] / clk * 1e6, n)


def per_cpu_s(r, n, clk):
    """n per server CPU-second of one row."""
    return rate(n, r["cpu_ticks"] / clk)


def cheaper(full, resumed):
    """How many times cheaper `resumed` is than `full` (CPU per handshake), as "3.10x"."""
    return ratio(full, resumed)


def per_minute(per_s):
    if per_s is None:
        return "n/a"
    m = per_s * 60
    return f"{m / 1e6:.2f} M" if m >= 1e6 else f"{m / 1e3:,.0f} k"


FLOOR_KINDS = {"full": "full", "ticket": "resumed (ticket)", "id": "resumed (session id)", "1KiB": "one message"}


def floor_us(floor):
    """{(case, proto, kind): (server µs, client µs)} of bench/tls_floor.cpp's rows."""
    return {(r["case"], r["proto"], r["kind"]): (r["server_ns_per"] / 1e3, r["client_ns_per"] / 1e3) for r in floor}


def floor_lines(floor, meta):
    """Part 0: what OpenSSL itself costs per handshake and per message, each side."""
    us = floor_us(floor)
    L = [
        "## 0. The TLS floor: OpenSSL's own cost",
        "",
        "`bench/tls_floor.cpp` (g++ -O2): a client and a server in one process and one thread, joined by a memory "
        f"BIO pair, no sockets, no event loop, no SMTP; each case for {meta.get('floor_seconds', '?')} s of CPU on "
        "the server core. A handshake row is one connection: SSL_new, the handshake, a greeting the server writes "
        "and the client reads (a TLS 1.3 client takes its ticket then), both close_notify alerts, SSL_free; the "
        "server as the daemon sets it up (a session cache, one TLS 1.3 ticket per handshake), the client keeping "
        "the newest session it was given, as the load generator does. A message row is one pipelined 1 KiB SMTP "
        "message over an established session (MAIL, RCPT and DATA in one record, the three replies in one, the "
        "body, its 250). CPU per side is the thread's CPU clock around that side's OpenSSL calls. No server "
        "built on OpenSSL 3.0 can cost less; parts 1 to 3 are measured against it.",
        "",
        "| TLS | case | count | server CPU µs | client CPU µs | server: full / this | client: full / this |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in floor:
        key = (r["case"], r["proto"], r["kind"])
        s, c = us[key]
        full = us.get(("handshake", r["proto"], "full"))
        resumed = r["case"] == "handshake" and r["kind"] != "full"
        L.append("| " + " | ".join([
            r["proto"], FLOOR_KINDS.get(r["kind"], r["kind"]), f"{r['count']:,}", fmt(s), fmt(c),
            cheaper(full[0], s) if resumed and full else "", cheaper(full[1], c) if resumed and full else ""]) + " |")
    return L + [""]


def hs_lines(hs, clk, meta, floor):
    """Part 1: smtp-blackhole against s_server, the resumption ratios, and every handshake row."""
    us = {(r["server"], r["client"], r["proto"], r["kind"]): cpu_us(r, r["connections"], clk) for r in hs}
    L = [
        "## 1. Handshakes: smtp-blackhole against `openssl s_server`",
        "",
        "Same P-256 key and certificate, each server alone on one core (`--threads 1` "
        "for the daemon, `-www` for s_server), `openssl s_time -time "
        f"{meta.get('stime_seconds', '?')}` on another core; handshakes per server CPU-second (utime+stime of "
        "the server process).",
        "",
        "| TLS | handshake | smtp-blackhole handshakes/CPU-s | `s_server` handshakes/CPU-s | smtp-blackhole / "
        "`s_server` | smtp-blackhole CPU µs/handshake | `s_server` CPU µs/handshake |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for proto, kind in (("1.2", "full"), ("1.2", "resumed"), ("1.3", "full")):
        b, s = us.get(("blackhole", "s_time", proto, kind)), us.get(("s_server", "s_time", proto, kind))
        L.append(f"| {proto} | {kind} | {fmt(rate(1e6, b))} | {fmt(rate(1e6, s))} | {ratio(s, b)} | {fmt(b)} "
                 f"| {fmt(s)} |")
    L += ["", "How much cheaper a resumed handshake is than a full one (server CPU per full handshake / per "
          "resumed handshake, same server, client and version):", "",
          "| server | client | TLS | full µs | resumed µs | full / resumed |",
          "| --- | --- | --- | ---: | ---: | ---: |"]
    for (server, client, proto, kind), full in us.items():
        if kind == "full" and (server, client, proto, "resumed") in us:
            resumed = us[(server, client, proto, "resumed")]
            L.append(f"| {SERVERS[server]} | {CLIENTS[client]} | {proto} | {fmt(full)} | {fmt(resumed)} "
                     f"| {cheaper(full, resumed)} |")
    fl = floor_us(floor)
    for proto in ("1.2", "1.3"):
        full, resumed = fl.get(("handshake", proto, "full")), fl.get(("handshake", proto, "ticket"))
        if full and resumed:
            L.append(f"| OpenSSL alone (part 0, server side) | its own client | {proto} | {fmt(full[0])} "
                     f"| {fmt(resumed[0])} | {cheaper(full[0], resumed[0])} |")
    L += ["", "`s_time` cannot resume TLS 1.3 (it never reads the session tickets a TLS 1.3 server sends after the "
          "handshake), so TLS 1.3 resumption is measured on the daemon only: by the Python client here, by the load "
          "generator in part 2.", "",
          "Every row:", "",
          "| server | client | TLS | handshake | connections | client resumed | handshakes/s "
          "| server CPU µs/handshake | handshakes/server CPU-s | daemon ok / failed / resumed |",
          "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in hs:
        n = r["connections"]
        counts = (f"{r['srv_ok']:,} / {r['srv_failed']:,} / {r['srv_resumed']:,}" if r["server"] == "blackhole"
                  else "(none)")
        L.append("| " + " | ".join([
            SERVERS[r["server"]], CLIENTS[r["client"]], r["proto"], r["kind"], f"{n:,}", f"{r['client_resumed']:,}",
            fmt(rate(n, r["wall_ns"] / 1e9)), fmt(cpu_us(r, n, clk)), fmt(per_cpu_s(r, n, clk)), counts]) + " |")
    L += [
        "",
        "handshakes/s is the client's connection count over the wall time measured around it (`s_time`'s own "
        "\"connections/user sec\" divides by the client's CPU time). `s_time` does nothing after the handshake; "
        "the Python rows also read the 220 greeting, so they include a little SMTP work. Rates are of one client "
        "doing one handshake at a time; the server CPU per handshake is the capacity figure. \"client resumed\" "
        "is `s_time`'s count of \"r\" marks or Python's `session_reused`; `s_time -reuse` makes one more "
        "connection first, which it does not count.",
        "- s_time and TLS 1.3: s_time closes the connection the moment its side of the handshake is done, before "
        "the server has sent its session tickets; the ticket write then fails. The daemon counts a handshake the "
        "client completed as ok all the same; these rows are checked as ok + failed = connections.",
        "",
    ]
    return L


MODES = {"plain": ("plaintext", ""), "off": ("full", "`--tls-resume off`"), "ticket": ("resumed", "ticket"),
         "id": ("resumed", "session id")}


def one_lines(rows, clk, floor):
    """Part 2: one message per connection through the load generator, TLS 1.3 and 1.2, full and resumed."""
    us = {r["mode"]: cpu_us(r, r["connections"], clk) for r in rows}
    plain = us.get("plain")
    fl = floor_us(floor)
    L = [
        "## 2. One message per connection (load generator)",
        "",
        "`smtp-blackhole-loadgen --tls --connections 1 --threads 1 --messages-per-connection 1` on the implicit-TLS "
        "port (plaintext: the SMTP port, no `--tls`), 1 KiB, the daemon `--threads 1` alone on one core and the "
        "generator on another; each connection carries one message, so a row is what a connection costs the "
        "daemon with its handshake. \"full / this\": the full handshake's row of the same version over this row, "
        "per connection (how much cheaper resumption makes a connection); \"TLS µs\": this row's µs minus "
        "plaintext's; \"OpenSSL µs\": the server side of the same handshake and one message in part 0, what "
        "OpenSSL alone spends on it; \"TLS / OpenSSL\": what the daemon's TLS costs against that.",
        "",
        "| TLS | handshake | connections | resumed | daemon CPU µs/connection | connections/server CPU-s "
        "| full / this | TLS µs | OpenSSL µs | TLS / OpenSSL | daemon ok / failed / resumed |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        version, _, resume = r["mode"].partition(":")
        kind, how = MODES[resume or "plain"]
        this = us[r["mode"]]
        full = us.get(f"{version}:off")
        tls = this - plain if resume and None not in (this, plain) else None
        proto = version.replace("tls", "")
        hs_floor = fl.get(("handshake", proto, "full" if resume == "off" else resume))
        msg_floor = fl.get(("message", proto, "1KiB"))
        openssl = hs_floor[0] + msg_floor[0] if resume and hs_floor and msg_floor else None
        L.append("| " + " | ".join([
            proto if resume else "none", kind + (f" ({how})" if how else ""),
            f"{r['connections']:,}", f"{r['resumed']:,}", fmt(this), fmt(per_cpu_s(r, r["connections"], clk)),
            cheaper(full, this) if resume else "", fmt(tls) if tls is not None else "",
            fmt(openssl) if openssl else "", ratio(tls, openssl) if tls is not None and openssl else "",
            f"{r['srv_ok']:,} / {r['srv_failed']:,} / {r['srv_resumed']:,}"]) + " |")
    return L + [""]


def both_cpu_s(r, clk):
    """CPU seconds of the daemon and the load generator together in one row."""
    return r["cpu_ticks"] / clk + r["client_cpu_us"] / 1e6


def ceiling(mode, per_conn, plain_row, clk, cores, fl):
    """The most messages per second this machine could carry in a STARTTLS shape if the daemon and the generator
    added nothing to OpenSSL's own cost: its cores over the CPU one message needs, both sides: the plaintext
    row's (daemon and generator), OpenSSL's records for one message, and a share of one handshake (1/per_conn;
    none when connections are never closed). None when a figure is missing."""
    proto = "1.2" if mode.startswith("starttls1.2") else "1.3"
    kind = "full" if mode.endswith(":off") else "ticket"
    hs, msg = fl.get(("handshake", proto, kind)), fl.get(("message", proto, "1KiB"))
    if not (hs and msg and plain_row and plain_row["accepted"] and cores):
        return None
    per_msg = both_cpu_s(plain_row, clk) / plain_row["accepted"] + (msg[0] + msg[1]) / 1e6
    if per_conn:
        per_msg += (hs[0] + hs[1]) / 1e6 / per_conn
    return cores / per_msg


def shape_lines(rows, clk, meta, floor):
    """Part 3: STARTTLS shapes against plaintext, messages per second and per minute, and the floor's ceiling."""
    names = {"plain": "plaintext", "starttls:ticket": "STARTTLS, resumption (ticket)",
             "starttls1.2:ticket": "STARTTLS, TLS 1.2, resumption (ticket)",
             "starttls:off": "STARTTLS, `--tls-resume off`"}
    fl = floor_us(floor)
    cores = int(meta["nproc"]) if meta.get("nproc", "").isdigit() else None
    shapes, by = group(rows, lambda r: r["per_conn"], "mode")
    conns = rows[0]["conns"] if rows else "?"
    L = [
        "## 3. STARTTLS shapes (load generator)",
        "",
        f"`smtp-blackhole-loadgen --threads 2 --connections {conns} --pipelining --size 1024 "
        f"--duration {meta.get('shape_seconds', '?')}s` and `--starttls` (TLS 1.3, the highest both sides have), "
        "the daemon with its default threads and `--sample-rate 0.01`, sharing the machine's cores. msg/s is "
        "accepted messages over the generator's wall time; \"/ plaintext\" is against the plaintext row of the "
        "same shape; \"msg per CPU-s, both\" counts the daemon's CPU and the generator's own (`cpu_s` of its "
        "report). \"ceiling\": what the TLS floor (part 0) leaves on this machine for that shape: its "
        f"{cores or '?'} cores over the CPU a message needs when the daemon and the generator add nothing to "
        "OpenSSL: the plaintext row's CPU per message (both sides) plus OpenSSL's records for one message and a "
        "share of one handshake (both sides, the row's version and resumption; none when connections stay open).",
        "",
        "| messages per connection | client | messages | msg/s | per minute | / plaintext | msg per daemon CPU-s "
        "| msg per CPU-s, both | ceiling msg/s | ceiling per minute | msg/s / ceiling | handshakes (resumed) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for per_conn in shapes:
        plain_rows = by[per_conn].get("plain", [])
        plain = [rate(r["accepted"], r["wall_ns"] / 1e9) for r in plain_rows]
        for mode, rs in by[per_conn].items():
            for r in rs:
                mps = rate(r["accepted"], r["wall_ns"] / 1e9)
                top = (ceiling(mode, per_conn, plain_rows[0] if plain_rows else None, clk, cores, fl)
                       if mode != "plain" else None)
                L.append("| " + " | ".join([
                    str(per_conn) if per_conn else "0 (never closed)", names.get(mode, mode), f"{r['accepted']:,}",
                    fmt(mps), per_minute(mps), ratio(mps, plain[0], "") if plain else "n/a",
                    fmt(per_cpu_s(r, r["accepted"], clk)), fmt(rate(r["accepted"], both_cpu_s(r, clk))),
                    fmt(top) if top else "", per_minute(top) if top else "", ratio(mps, top, "") if top else "",
                    f"{r['handshakes']:,} ({r['resumed']:,})"]) + " |")
    return L + [""]


def render(floor, hs, lg, meta):
    clk = clk_tck(meta)
    L = [
        f"# smtp-blackhole TLS benchmark ({meta.get('mode', 'full')} run)",
        "",
        *machine_lines(meta),
        f"- server: {meta.get('blackhole', '?')}; `--sample-rate 0.01`, defaults otherwise; a P-256 certificate "
        "made at start (`openssl req -x509 -newkey ec`), the daemon's and `openssl s_server`'s; fresh server per row",
        f"- negotiated: smtp-blackhole {meta.get('negotiated_blackhole', '?')}; `s_server` "
        f"{meta.get('negotiated_s_server', '?')}",
        f"- clients: {meta.get('openssl', '?')} (`s_time`, `s_server`); Python {meta.get('python', '?')} (ssl); "
        "`smtp-blackhole-loadgen`; all on the same machine, 127.0.0.1",
        f"- cores: {meta.get('cores', '?')} (parts 1 and 2, `taskset`); part 3 unpinned",
        f"- server CPU: utime+stime of the server process from /proc/PID/stat over the client run ({clk} ticks/s)",
        "",
    ]
    L += floor_lines(floor, meta)
    L += hs_lines(hs, clk, meta, floor)
    L += one_lines([r for r in lg if r["part"] == "one"], clk, floor)
    L += shape_lines([r for r in lg if r["part"] == "shapes"], clk, meta, floor)
    msgs = sum(r["accepted"] for r in lg)
    L += outcome_lines(problems(floor, hs, lg), "Counts: the TLS floor measured every case, handshake rows match the clients' connection counts and resumed "
                       "rows really resumed (the client's count, and the daemon's); in every load generator row the "
                       "daemon's transactions, TLS handshakes and resumed handshakes equal the generator's "
                       f"({msgs:,} messages in all), with none lost, refused or failed.")
    profiles = [v for k, v in sorted(meta.items()) if k.startswith("profile")]
    if profiles:
        L += ["## Profiles", "", "`perf record -e cpu-clock -g -p DAEMON`, self time:", ""]
        L += [f"- {p}" for p in profiles]
        L.append("")
    L += elapsed_lines(meta)
    return "\n".join(L) + "\n"


def cmd_report(a, check):
    floor = load_rows(a.floor, FLOOR_INTS)
    hs = load_rows(a.handshakes, HS_INTS)
    lg = load_rows(a.loadgen, LG_INTS)
    return finish(check, lambda: problems(floor, hs, lg), lambda meta: render(floor, hs, lg, meta), bool(hs or lg),
                  a.meta, a.out, who="tls bench")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("handshake")
    h.add_argument("--port", type=int, required=True)
    h.add_argument("--tls", choices=("1.2", "1.3"), required=True)
    h.add_argument("--resume", action="store_true")
    h.add_argument("--seconds", type=float, required=True)
    h.add_argument("--timeout", type=float, default=10)
    f = sub.add_parser("lg-fields")
    f.add_argument("report")
    f.add_argument("status", type=int)
    f.add_argument("stderr")
    for name in ("report", "check"):
        r = sub.add_parser(name)
        r.add_argument("floor")
        r.add_argument("handshakes")
        r.add_argument("loadgen")
        r.add_argument("--meta", action="append", default=[])
        r.add_argument("--out")
    a = ap.parse_args()
    if a.cmd == "handshake":
        return cmd_handshake(a)
    if a.cmd == "lg-fields":
        return cmd_lg_fields(a)
    return cmd_report(a, a.cmd == "check")


if __name__ == "__main__":
    sys.exit(main())
