#!/usr/bin/env python3
"""Client and report for bench/tls.sh. Standard library only; talks to 127.0.0.1 only.

  tls_helper.py send --port P --mode plain|starttls|smtps --conns C --per-conn N --size BYTES [--timeout S]
      C processes in parallel, each one connection (STARTTLS or implicit TLS as asked) sending N messages of
      BYTES octets with smtplib (TCP_NODELAY set, as the daemon does), then QUIT. Prints one tab-separated line: sent, errors, wall_ns (first
      connect to last QUIT), tls (the protocol versions seen, or "none"), first_error (last, may be empty).
  tls_helper.py handshake --port P --tls 1.2|1.3 [--resume] --seconds T [--timeout S]
      One connection at a time to an implicit-TLS port for T seconds: connect, handshake (offering the last
      session with --resume), read the 220 greeting (which also takes in TLS 1.3 session tickets), close.
      Prints one tab-separated line: connections, reused, errors, wall_ns, first_error (last, may be empty).
  tls_helper.py report HANDSHAKES.tsv MESSAGES.tsv [--meta key=value]... [--out FILE]
  tls_helper.py check HANDSHAKES.tsv MESSAGES.tsv
      The markdown report; or no output and exit status 1 when a count does not match (see problems()).
"""
import argparse
import multiprocessing
import smtplib
import socket
import ssl
import sys
import time

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing report_lib
from report_lib import (clk_tck, elapsed_lines, finish, fmt, group, load_rows, machine_lines, median,  # noqa: E402
                        msg_cpu_s, msg_s, outcome_lines, rate, ratio, size_label)

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


def message(size, i):
    head = (f"From: bench <bench@example.org>\r\nTo: sink <sink@example.net>\r\nSubject: tls bench {i}\r\n"
            f"Message-ID: <{i}.tls-bench@example.org>\r\n\r\n").encode()
    line = b"x" * 74 + b"\r\n"
    body = line * ((size - len(head)) // len(line) + 1)
    return head + body[:max(0, size - len(head) - 2)] + b"\r\n"


def send_one(args):
    port, mode, per_conn, size, timeout = args
    sent, first_error, tls = 0, "", "none"
    msg = message(size, 0)
    try:
        if mode == "smtps":
            smtp = smtplib.SMTP_SSL(HOST, port, timeout=timeout, context=client_context())
        else:
            smtp = smtplib.SMTP(HOST, port, timeout=timeout)
        # Without TCP_NODELAY, Python's TLS writes (one system call per record) meet Nagle's algorithm and the
        # server's delayed ACK: 100 KiB messages over TLS ran 4-6x slower in wall time for the same server CPU.
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        smtp.ehlo("bench.example.org")
        if mode == "starttls":
            smtp.starttls(context=client_context())
            smtp.ehlo("bench.example.org")
        if mode != "plain":
            tls = smtp.sock.version()
        for _ in range(per_conn):
            refused = smtp.sendmail("bench@example.org", ["sink@example.net"], msg)
            if refused:
                raise RuntimeError(f"refused: {refused}")
            sent += 1
        smtp.quit()
    except Exception as e:  # noqa: BLE001 - every failure is reported, none hidden
        first_error = f"{type(e).__name__}: {e}"
    return sent, first_error, tls


def cmd_send(a):
    job = (a.port, a.mode, a.per_conn, a.size, a.timeout)
    t0 = time.monotonic_ns()
    with multiprocessing.get_context("fork").Pool(a.conns) as pool:
        results = pool.map(send_one, [job] * a.conns, chunksize=1)
    wall = time.monotonic_ns() - t0
    errors = [e for _, e, _ in results if e]
    print(sum(s for s, _, _ in results), len(errors), wall, ",".join(sorted({t for _, _, t in results})),
          one_line(errors[0] if errors else ""), sep="\t")
    return 0


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


# ---- report -------------------------------------------------------------------------------------------------

HS_INTS = ("connections", "wall_ns", "cpu_ticks", "srv_ok", "srv_failed", "srv_resumed", "client_errors")
MSG_INTS = ("round", "size", "conns", "per_conn", "sent", "counted", "wall_ns", "cpu_ticks", "srv_ok",
            "srv_failed", "client_errors")


def hs_problems(r):
    """What does not add up in one handshake row. s_time's -reuse makes one uncounted connection first."""
    out = []
    extra = 1 if r["client"] == "s_time" and r["kind"] == "resumed" else 0
    seen = r["srv_ok"] + r["srv_failed"]
    if seen != r["connections"] + extra:
        out.append(f"client made {r['connections'] + extra} connections, server saw {seen} handshakes")
    if r["kind"] == "resumed" and r["srv_resumed"] < r["connections"] * 0.99:
        out.append(f"only {r['srv_resumed']} of {r['connections']} handshakes resumed (server count)")
    if r["kind"] == "full" and r["srv_resumed"]:
        out.append(f"{r['srv_resumed']} resumed handshakes in a full-handshake run")
    if r["client_errors"]:
        out.append(f"{r['client_errors']} client error(s): {r['first_error']}")
    return out


def msg_problems(r):
    out = []
    if r["counted"] != r["sent"]:
        out.append(f"client sent {r['sent']}, server counted {r['counted']}")
    if r["sent"] != r["conns"] * r["per_conn"]:
        out.append(f"sent {r['sent']} of {r['conns'] * r['per_conn']}")
    want_tls = 0 if r["mode"] == "plain" else r["conns"]
    if r["srv_ok"] != want_tls or r["srv_failed"]:
        out.append(f"server TLS handshakes ok={r['srv_ok']} failed={r['srv_failed']}, expected {want_tls}")
    if r["client_errors"]:
        out.append(f"{r['client_errors']} client error(s): {r['first_error']}")
    return out


def problems(hs, msgs):
    out = []
    for r in hs:
        where = f"handshakes, {r['client']} TLS {r['proto']} {r['kind']}"
        out.extend(f"{where}: {p}" for p in hs_problems(r))
        # s_time closes a TLS 1.3 connection as soon as its side of the handshake is done, and the server's
        # session-ticket write then meets a reset: those count as tls_failed on the daemon (see the report).
        if r["srv_failed"] and not (r["client"] == "s_time" and r["proto"] == "1.3"):
            out.append(f"{where}: {r['srv_failed']} failed handshake(s) on the server")
    for r in msgs:
        out.extend(f"messages, round {r['round']}, {r['mode']} {size_label(r['size'])}: {p}" for p in msg_problems(r))
    return out


def render(hs, msgs, meta):
    clk = clk_tck(meta)
    L = [
        f"# smtp-blackhole TLS benchmark ({meta.get('mode', 'full')} run)",
        "",
        *machine_lines(meta),
        f"- server: {meta.get('blackhole', '?')}; `--threads 1`, defaults otherwise (capture/sampling on, "
        "as in bench/run.sh); self-signed P-256 certificate made at start; fresh daemon per row",
        f"- negotiated: {meta.get('negotiated', '?')}",
        f"- clients: {meta.get('openssl', '?')} (`s_time`); Python {meta.get('python', '?')} (ssl, smtplib); "
        "all on the same machine, 127.0.0.1",
        f"- server CPU: utime+stime of the daemon from /proc/PID/stat over the client run ({clk} ticks/s)",
        "",
        "## Handshakes (implicit-TLS port, one connection at a time)",
        "",
        "| client | TLS | handshake | connections | handshakes/s | server CPU µs/handshake "
        "| handshakes/server CPU-s | server ok / failed / resumed |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in hs:
        cpu_s = r["cpu_ticks"] / clk
        L.append("| " + " | ".join([
            "`s_time`" if r["client"] == "s_time" else "Python",
            r["proto"], r["kind"], f"{r['connections']:,}",
            fmt(rate(r["connections"], r["wall_ns"] / 1e9)),
            fmt(rate(cpu_s * 1e6, r["connections"])),
            fmt(rate(r["connections"], cpu_s)),
            f"{r['srv_ok']:,} / {r['srv_failed']:,} / {r['srv_resumed']:,}",
        ]) + " |")
    L += [
        "",
        "`s_time` rows are OpenSSL's own tool (`-new` / `-reuse`, `-tls1_2` / `-tls1_3`, `-time "
        f"{meta.get('stime_seconds', '?')}`), the reference for the rate; handshakes/s is its connection count "
        "over the wall time we measured around it (its own \"connections/user sec\" divides by the client's CPU "
        "time). `s_time` does nothing after the handshake; the Python rows also read the 220 greeting, so they "
        "include a little SMTP work and the client's Python overhead. Rates are of a single client doing one "
        "handshake at a time; the server CPU per handshake is the capacity figure (one core does "
        "\"handshakes/server CPU-s\").",
        "",
    ]
    notes = [n for k, n in sorted(meta.items()) if k.startswith("hs_note")]
    L += [f"- {n}" for n in notes]
    if notes:
        L.append("")

    modes = ["plain", "starttls", "smtps"]
    names = {"plain": "plaintext", "starttls": "STARTTLS", "smtps": "implicit TLS"}
    shapes, by = group(msgs, lambda r: (r["size"], r["conns"], r["per_conn"]), "mode")

    rounds = max((r["round"] for r in msgs), default=0)
    L += [
        "## Messages (smtplib, many messages per connection)",
        "",
        "Main figure: messages per server CPU-second. The Python client is the bottleneck for msg/s (it shares "
        "the machine's cores with the server and does not pipeline: MAIL, RCPT, DATA and the body are four "
        "round trips), so msg/s says more about the client than about the server. The client sets TCP_NODELAY "
        "(the daemon does too): without it Python's TLS writes, one system call per 16 KiB record, wait on Nagle's "
        "algorithm and delayed ACKs, and the 100 KiB TLS rows ran 4-6x slower in wall time for the same server "
        "CPU.",
        "",
        "| shape | plaintext msg/CPU-s | STARTTLS msg/CPU-s | implicit TLS msg/CPU-s | STARTTLS / plain "
        "| implicit / plain | plaintext msg/s | STARTTLS msg/s | implicit TLS msg/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for k in shapes:
        s = by[k]
        size, conns, per_conn = k
        cpu = {m: median(msg_cpu_s(r, clk) for r in s.get(m, [])) for m in modes}
        wall = {m: median(msg_s(r) for r in s.get(m, [])) for m in modes}
        L.append("| " + " | ".join(
            [f"{size_label(size)}, {conns} conns × {per_conn} msg"]
            + [fmt(cpu[m]) for m in modes]
            + [ratio(cpu["starttls"], cpu["plain"], ""), ratio(cpu["smtps"], cpu["plain"], "")]
            + [fmt(wall[m]) for m in modes]) + " |")
    L += ["", f"Each figure is the median of {rounds} round(s); ratios below 1 are what TLS costs the server "
          "per message (0.50: twice the CPU per message). TLS: " + meta.get("msg_tls", "?") + ".", ""]
    if rounds > 1:
        L += ["Every round, msg/CPU-s (msg/s):", "", "| shape | " + " | ".join(names[m] for m in modes) + " |",
              "| --- | --- | --- | --- |"]
        for k in shapes:
            cells = [f"{size_label(k[0])}, {k[1]} × {k[2]}"]
            for m in modes:
                cells.append(", ".join(f"{fmt(msg_cpu_s(r, clk))} ({fmt(msg_s(r))})"
                                       for r in sorted(by[k].get(m, []), key=lambda r: r["round"])))
            L.append("| " + " | ".join(cells) + " |")
        L.append("")
    L += ["postfix's `smtp-sink` is not in this comparison: it has no TLS. postfix's `smtp-source` has no "
          "STARTTLS either (its options are -cdLNov -s -l -m -C -M -f -t -r -R -w), hence the Python client.", ""]
    total = sum(r["sent"] for r in msgs)
    L += outcome_lines(problems(hs, msgs), f"Counts: the daemon's `transactions` equals what the client sent in "
                       f"every message row ({total:,} messages in all), with one TLS handshake per TLS connection and "
                       "none failed; handshake rows match the clients' connection counts and resumed rows really "
                       "resumed.")
    profiles = [v for k, v in sorted(meta.items()) if k.startswith("profile")]
    if profiles:
        L += ["## Profiles", "", "`perf record -e cpu-clock -g -p DAEMON`, self time:", ""]
        L += [f"- {p}" for p in profiles]
        L.append("")
    L += elapsed_lines(meta)
    return "\n".join(L) + "\n"


def cmd_report(a, check):
    hs = load_rows(a.handshakes, HS_INTS)
    msgs = load_rows(a.messages, MSG_INTS)
    return finish(check, lambda: problems(hs, msgs), lambda meta: render(hs, msgs, meta), bool(hs or msgs),
                  a.meta, a.out, who="tls bench")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--mode", choices=("plain", "starttls", "smtps"), required=True)
    s.add_argument("--conns", type=int, default=8)
    s.add_argument("--per-conn", type=int, required=True)
    s.add_argument("--size", type=int, default=1024)
    s.add_argument("--timeout", type=float, default=30)
    h = sub.add_parser("handshake")
    h.add_argument("--port", type=int, required=True)
    h.add_argument("--tls", choices=("1.2", "1.3"), required=True)
    h.add_argument("--resume", action="store_true")
    h.add_argument("--seconds", type=float, required=True)
    h.add_argument("--timeout", type=float, default=10)
    for name in ("report", "check"):
        r = sub.add_parser(name)
        r.add_argument("handshakes")
        r.add_argument("messages")
        r.add_argument("--meta", action="append", default=[])
        r.add_argument("--out")
    a = ap.parse_args()
    if a.cmd == "send":
        return cmd_send(a)
    if a.cmd == "handshake":
        return cmd_handshake(a)
    return cmd_report(a, a.cmd == "check")


if __name__ == "__main__":
    sys.exit(main())
