#!/usr/bin/env python3
"""The soak of issue 14: millions of messages through the load generator with --verify, in rounds of three
shapes (pipelining, BDAT, STARTTLS with several messages per connection and resumption), against one daemon that
meanwhile gets, at fixed intervals: scrapes of /metrics, reads of /api/v1/flows and of the capture ring, a side
flow fed and reset with exact counts, fault rules added and removed (they match only the side sender's
recipients), SIGHUP with an alternating certificate pair, and slow connections opened and abandoned. At the end
it checks, failing with exit status 1 on any miss: every load generator run passed --verify and the sink counted
each of its messages once (per flow, and in the final totals), the side flows' counts were exact, RSS stayed
within the bound after warm-up, the descriptor count came back to its baseline, no error line was logged, and
the daemon still answered before SIGTERM. Prints a markdown report (and with --json a summary object as the last
line). Standard library only; traffic to 127.0.0.1 only; every loop is bounded in count and time; only the
processes started here are stopped, by PID. Usually run through bench/soak.sh; tests/integration/test_soak.py
runs its --short mode."""
from __future__ import annotations

import argparse
import collections
import hashlib
import http.client
import http.server
import json
import os
import random
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SIDE = 'soak-side'        # the side flows' prefix; the load generator's flows are soak-rN-SHAPE
FAULT_DOMAIN = 'fault.soak.test'
SHAPES = (  # name, share of each round's messages, flags
    ('pipelining', 0.45, ['--pipelining']),
    ('bdat', 0.45, ['--bdat']),
    ('starttls', 0.1, ['--starttls', '--pipelining', '--messages-per-connection', '25']),
)
SIZES = (1024, 4096, 700, 16384)   # message size per round, in turn


class Soak:
    def __init__(self, a):
        self.a = a
        self.work = a.work or tempfile.mkdtemp(prefix='soak.')
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.problems: list[str] = []
        self.n = collections.Counter()          # activity counters for the report
        self.rss: list[tuple[float, int]] = []  # (seconds since start, VmRSS KiB)
        self.fds: list[int] = []
        self.runs: list[dict] = []
        self.proc = None
        self.deadline = time.monotonic() + a.budget
        self.first_round_s = 0.0

    # --- helpers ---
    def problem(self, what: str) -> None:
        with self.lock:
            if len(self.problems) < 50:
                self.problems.append(what)
        print(f'soak: PROBLEM: {what}', file=sys.stderr, flush=True)

    def add(self, key: str, k: int = 1) -> None:
        with self.lock:
            self.n[key] += k

    def running(self) -> bool:
        return not self.stop.is_set() and time.monotonic() < self.deadline

    def http(self, method: str, path: str, body: dict | None = None, port: int | None = None):
        c = http.client.HTTPConnection('127.0.0.1', port or self.http_port, timeout=30)
        try:
            data = json.dumps(body).encode() if body is not None else None
            c.request(method, path, body=data, headers={'Connection': 'close'})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def json_ok(self, method: str, path: str, body: dict | None = None, want=(200,)):
        status, data = self.http(method, path, body)
        if status not in want:
            raise RuntimeError(f'{method} {path}: HTTP {status} {data[:200]!r}')
        return json.loads(data) if data[:1] in (b'{', b'[') else data

    def log_lines(self) -> list[str]:
        with open(self.log, errors='replace') as f:
            return f.read().splitlines()

    def loop(self, name: str, interval: float, step) -> threading.Thread:
        """A background activity: step() every `interval` seconds until stopped or past the deadline (both
        bound it); an exception is a problem and ends that activity."""
        def run():
            try:
                while self.running():
                    step()
                    self.stop.wait(interval)
            except Exception as e:  # noqa: BLE001: every failure is reported
                self.problem(f'{name}: {type(e).__name__}: {e}')
        t = threading.Thread(target=run, name=name, daemon=True)
        t.start()
        return t

    # --- set-up ---
    def make_pairs(self) -> None:
        """Two self-signed P-256 pairs; the daemon's --tls-cert/--tls-key get copies that SIGHUP swaps."""
        self.pairs = []
        for tag in 'ab':
            cert, key = (os.path.join(self.work, f'{k}-{tag}.pem') for k in ('cert', 'key'))
            subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
                            '-nodes', '-subj', f'/CN=soak-{tag}.test', '-keyout', key, '-out', cert, '-days', '2'],
                           check=True, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
            with open(cert) as f:
                der = ssl.PEM_cert_to_DER_cert(f.read())
            fp = ':'.join(f'{b:02X}' for b in hashlib.sha256(der).digest())
            self.pairs.append((cert, key, fp))
        self.cert, self.key = os.path.join(self.work, 'cert.pem'), os.path.join(self.work, 'key.pem')
        self.install_pair(0)

    def install_pair(self, i: int) -> None:
        cert, key, _ = self.pairs[i]
        for src, dst in ((key, self.key), (cert, self.cert)):
            shutil.copyfile(src, dst + '.tmp')
            os.replace(dst + '.tmp', dst)
        self.pair = i

    def start_daemon(self) -> None:
        self.log = os.path.join(self.work, 'daemon.log')
        self.cmd = [self.a.binary, '--smtp-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0',
                    '--threads', str(self.a.threads), '--hostname', 'soak.test',
                    '--tls-cert', self.cert, '--tls-key', self.key,
                    '--capture-messages', '2000', '--capture-bytes', '8M', '--sample-rate', '0.001',
                    '--sample-first-per-flow', '1', '--drain-timeout', '10s']
        with open(self.log, 'w') as err:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        limit = time.monotonic() + 10 * self.a.factor
        while time.monotonic() < limit and self.proc.poll() is None:
            text = open(self.log, errors='replace').read()
            if 'msg=started' in text:
                self.port = int(re.search(r'listening smtp 127\.0\.0\.1:(\d+)', text)[1])
                self.http_port = int(re.search(r'listening http 127\.0\.0\.1:(\d+)', text)[1])
                return
            time.sleep(0.05)
        raise RuntimeError('the daemon did not start: ' + open(self.log, errors='replace').read()[-2000:])

    def status_kib(self, key: str) -> int:
        with open(f'/proc/{self.proc.pid}/status') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1])
        return -1

    def fd_count(self) -> int:
        return len(os.listdir(f'/proc/{self.proc.pid}/fd'))

    def settled_fds(self, want: int | None = None) -> int:
        """The descriptor count once it is `want`, or else once it held still for half a second (a socket a
        client just closed is gone a moment later); the wait is bounded."""
        last, same = -1, 0
        limit = time.monotonic() + 15 * self.a.factor
        while time.monotonic() < limit:
            n = self.fd_count()
            if n == want:
                return n
            same = same + 1 if n == last else 0
            if same >= 5 and want is None:
                return n
            last = n
            time.sleep(0.1)
        return self.fd_count()

    # --- the background activities ---
    def sample(self) -> None:
        self.rss.append((time.monotonic() - self.t0, self.status_kib('VmRSS')))
        self.fds.append(self.fd_count())

    def read_api(self) -> None:
        status, body = self.http('GET', '/metrics')
        m = re.search(rb'^smtp_blackhole_transactions_total (\d+)', body, re.M)
        if status != 200 or not m:
            raise RuntimeError(f'/metrics: HTTP {status}, no transactions_total')
        total = int(m[1])
        if total < self.n['last_transactions']:
            raise RuntimeError(f'transactions_total went back from {self.n["last_transactions"]} to {total}')
        self.n['last_transactions'] = total
        self.json_ok('GET', '/api/v1/flows')
        msgs = self.json_ok('GET', '/api/v1/messages?limit=20')['messages']
        if msgs:  # the newest may be evicted meanwhile: 404 is an answer too
            self.json_ok('GET', f'/api/v1/messages/{msgs[0]["id"]}', want=(200, 404))
        self.add('http_reads', 4 if msgs else 3)

    def sighup(self) -> None:
        """Swaps the pair, SIGHUP, waits (bounded) for the reload line with the new fingerprint, then checks
        that a new STARTTLS handshake gets the new certificate."""
        nxt = 1 - self.pair
        self.install_pair(nxt)
        before = sum('msg="TLS certificate reloaded"' in l for l in self.log_lines())
        self.proc.send_signal(signal.SIGHUP)
        self.add('sighups')
        limit = time.monotonic() + 10 * self.a.factor
        while True:
            lines = [l for l in self.log_lines() if 'msg="TLS certificate reloaded"' in l]
            if len(lines) > before:
                break
            if time.monotonic() > limit:
                raise RuntimeError(f'no "TLS certificate reloaded" line after SIGHUP {self.n["sighups"]}')
            time.sleep(0.05)
        if f'sha256={self.pairs[nxt][2]}' not in lines[-1]:
            raise RuntimeError(f'reloaded the wrong certificate: {lines[-1]}')
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        with smtplib.SMTP('127.0.0.1', self.port, timeout=30) as s:
            s.starttls(context=ctx)
            der = s.sock.getpeercert(binary_form=True)
            s.quit()
        got = ':'.join(f'{b:02X}' for b in hashlib.sha256(der).digest())
        if got != self.pairs[nxt][2]:
            raise RuntimeError(f'after SIGHUP {self.n["sighups"]} a handshake got {got}, not the new pair')

    def side_epoch(self) -> None:
        """One epoch of the side flows: a fault rule for the side recipients, refusals counted exactly, the rule
        removed; then K messages in flow soak-side, counted exactly, and the flows reset."""
        j, k = 3, 10
        fault_to = f'f+{SIDE}-fault@{FAULT_DOMAIN}'
        rid = self.json_ok('POST', '/api/v1/faults', {'stage': 'rcpt', 'code': 451, 'rcpt': f'*@{FAULT_DOMAIN}'},
                           want=(201,))['ids'][0]
        self.add('faults_added')
        refused = 0
        with smtplib.SMTP('127.0.0.1', self.port, timeout=30) as s:
            for _ in range(j):
                try:
                    s.sendmail('side@soak.test', [fault_to], b'Subject: refused\r\n\r\nx\r\n')
                except smtplib.SMTPRecipientsRefused as e:
                    refused += e.recipients[fault_to][0] == 451
            s.quit()
        rule = [f for f in self.json_ok('GET', '/api/v1/faults')['faults'] if f['id'] == rid]
        if refused != j or not rule or (rule[0]['seen'], rule[0]['fired']) != (j, j):
            raise RuntimeError(f'fault rule {rid}: {refused} refusals of {j}, rule {rule}')
        if self.json_ok('DELETE', f'/api/v1/faults/{rid}') != {'deleted': 1}:
            raise RuntimeError(f'fault rule {rid} not deleted')
        self.add('faults_removed')
        self.add('side_refused', j)
        f = self.json_ok('GET', f'/api/v1/flows/{SIDE}-fault')
        if (f['messages'], f['refused_by_code'], f['faults']) != (0, {'451': j}, {'rcpt:451': j}):
            raise RuntimeError(f'flow {SIDE}-fault after {j} refusals: {f}')
        sizes = 0
        with smtplib.SMTP('127.0.0.1', self.port, timeout=30) as s:
            for i in range(k):
                msg = (f'X-Flow: {SIDE}\r\nSubject: side {self.n["side_epochs"]}.{i}\r\n\r\n'
                       + 'x' * random.randrange(10, 3000) + '\r\n').encode()
                s.sendmail('side@soak.test', [fault_to if i == 0 else f'r{i}@side.soak.test'], msg)
                sizes += len(msg)
            s.quit()
        f = self.json_ok('GET', f'/api/v1/flows/{SIDE}')
        if (f['messages'], f['recipients'], f['bytes'], f['refused']) != (k, k, sizes, 0):
            raise RuntimeError(f'flow {SIDE}: sent {k} messages of {sizes} bytes, sink says {f}')
        self.add('side_messages', k)
        for name in (SIDE, f'{SIDE}-fault'):
            self.json_ok('DELETE', f'/api/v1/flows/{name}')
            self.add('resets')
            if self.json_ok('GET', f'/api/v1/flows/{name}')['seen']:
                raise RuntimeError(f'flow {name} still seen after its reset')
        self.add('side_epochs')
        if self.n['side_epochs'] % 5 == 0:   # and empty the capture ring now and then
            self.json_ok('DELETE', '/api/v1/messages')
            self.add('ring_emptied')

    def slow_step(self) -> None:
        """Opens one slow connection (idle, a partial command, a partial DATA, a partial TLS handshake) and
        abandons the oldest (close without QUIT; every third with an RST) once eight are open."""
        kind = self.n['slow_opened'] % 4
        s = socket.create_connection(('127.0.0.1', self.port), timeout=10)
        s.recv(512)  # the greeting
        if kind == 1:
            s.sendall(b'EHLO slow.test\r\nMAIL FROM:<slow@soak.te')
        elif kind == 2:
            s.sendall(b'EHLO slow.test\r\nMAIL FROM:<slow@soak.test>\r\nRCPT TO:<r@slow.soak.test>\r\nDATA\r\n'
                      + f'X-Flow: {SIDE}-slow\r\nSubject: never ends\r\n\r\n'.encode() + b'y' * 5000)
        elif kind == 3:
            s.sendall(b'EHLO slow.test\r\nSTARTTLS\r\n')
            s.recv(4096)
            s.sendall(b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03')  # the start of a ClientHello
        self.slow.append(s)
        self.add('slow_opened')
        while len(self.slow) > 8:
            self.abandon(self.slow.popleft())

    def abandon(self, s: socket.socket) -> None:
        if self.n['slow_abandoned'] % 3 == 2:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
        s.close()
        self.add('slow_abandoned')

    # --- --verify through a filter ---
    def start_filter(self) -> None:
        """--verify compares every flow the sink lists with the generator's, so a side flow fed meanwhile would be a
        difference: the generator reads /api/v1/flows through this filter, which leaves out the flows whose name
        starts with soak-side (the driver checks those itself, exactly) and passes everything else as it is."""
        soak = self

        class Filter(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802: the handler's name
                status, body = soak.http('GET', self.path)
                if status == 200 and self.path == '/api/v1/flows':
                    doc = json.loads(body)
                    doc['flows'] = [f for f in doc['flows'] if not f['flow'].startswith(SIDE)]
                    body = json.dumps(doc).encode()
                    soak.add('verify_reads')
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_):
                pass

        self.filter = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Filter)
        threading.Thread(target=self.filter.serve_forever, name='filter', daemon=True).start()

    # --- the load generator's rounds ---
    def run_shape(self, rnd: int, shape: str, flags: list[str], n: int, size: int) -> None:
        flow = f'soak-r{rnd}-{shape}'
        cmd = [self.a.loadgen, '--target', f'127.0.0.1:{self.port}', '--threads', '1', '--connections', '20',
               '--messages', str(n), '--size', str(size), '--flow', flow, *flags,
               '--verify', f'http://127.0.0.1:{self.filter.server_address[1]}', '--json', '--quiet']
        t = time.monotonic()
        limit = min(max(60.0, n / 1000) * self.a.factor, max(1.0, self.deadline - t))
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=limit)
        wall = time.monotonic() - t
        try:
            r = json.loads(p.stdout)
        except ValueError:
            r = {}
        row = {'round': rnd, 'shape': shape, 'size': size, 'messages': n, 'rc': p.returncode,
               'accepted': r.get('accepted', -1), 'msg_s': r.get('messages_per_s', 0), 'elapsed_s': r.get('elapsed_s', wall),
               'verify': r.get('verify', {}).get('ok'), 'tls_resumed': r.get('tls_resumed', 0),
               'connections': r.get('connections', 0)}
        self.runs.append(row)
        errs = r.get('errors', {})
        if (p.returncode != 0 or row['verify'] is not True or (r.get('sent'), r.get('accepted')) != (n, n)
                or r.get('refused') or r.get('lost') or any(errs.values()) or r.get('flows') != {flow: n}):
            self.problem(f'loadgen {flow}: rc {p.returncode}, report {p.stdout[:600]!r}, stderr {p.stderr[-600:]!r}')
            return
        f = self.json_ok('GET', f'/api/v1/flows/{flow}')
        if (f['messages'], f['recipients'], f['bytes'], f['refused']) != (n, n, n * size, 0):
            self.problem(f'flow {flow}: loadgen accepted {n} of {size} bytes, sink says {f}')
        self.json_ok('DELETE', f'/api/v1/flows/{flow}')   # its own flow, once it is checked
        self.add('resets')
        print(f'soak: round {rnd} {shape:<10} {n:>9} msgs {row["msg_s"]:>9.0f} msg/s  '
              f'RSS {self.rss[-1][1] / 1024 if self.rss else 0:.1f} MiB  fds {self.fds[-1] if self.fds else 0}',
              file=sys.stderr, flush=True)

    def rounds(self) -> None:
        total, nr = self.a.messages, self.a.rounds
        done = 0
        for rnd in range(nr):
            size = SIZES[rnd % len(SIZES)]
            for i, (shape, share, flags) in enumerate(SHAPES):
                left = total - done
                n = left if rnd == nr - 1 and i == len(SHAPES) - 1 else min(left, round(total / nr * share))
                if n <= 0 or not self.running():
                    continue
                self.run_shape(rnd + 1, shape, flags, n, size)
                done += n
            if rnd == 0:
                self.first_round_s = time.monotonic() - self.t0
        if done != total:
            self.problem(f'only {done} of {total} messages were run (time budget {self.a.budget}s)')

    # --- the whole run ---
    def run(self) -> int:
        self.make_pairs()
        self.start_daemon()
        self.t0 = time.monotonic()
        self.fd_start = self.fd_count()
        # one of everything once (a message, a view, a handshake), so that lazily opened descriptors are in the
        # baseline; the side epoch resets what it sent
        self.side_epoch()
        self.read_api()
        self.sighup()
        self.fd_base = self.settled_fds()
        self.slow = collections.deque()
        self.start_filter()
        threads = [self.loop('sample', 1.0, self.sample), self.loop('read', 0.2, self.read_api),
                   self.loop('sighup', self.a.sighup_every, self.sighup), self.loop('side', 0.5, self.side_epoch),
                   self.loop('slow', 0.25, self.slow_step)]
        try:
            self.rounds()
        finally:
            self.stop.set()
            for t in threads:
                t.join(30 * self.a.factor)
            while self.slow:
                self.abandon(self.slow.popleft())
            self.filter.shutdown()
            self.filter.server_close()
        self.finish()
        return self.report()

    def finish(self) -> None:
        """The end checks while the daemon still runs, then SIGTERM and its totals line."""
        self.sample()
        self.fd_end = self.settled_fds(self.fd_base)
        active = re.search(rb'^smtp_blackhole_connections_active (\d+)', self.http('GET', '/metrics')[1], re.M)
        if not active or int(active[1]) != 0:
            self.problem(f'connections_active is {active and int(active[1])} at the end, not 0')
        if self.fd_end != self.fd_base:
            self.problem(f'descriptors: {self.fd_end} at the end, baseline {self.fd_base}')
        self.rss_end = self.status_kib('VmRSS')
        if self.json_ok('GET', '/healthz') != {'status': 'ok'}:
            self.problem('/healthz did not answer ok')
        with smtplib.SMTP('127.0.0.1', self.port, timeout=30) as s:   # the daemon still takes mail
            s.sendmail('last@soak.test', ['last@soak.test'], b'Subject: last\r\n\r\nlast\r\n')
            s.quit()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(30 * self.a.factor)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(10)
        lines = self.log_lines()
        if rc != 0:
            self.problem(f'the daemon exited with {rc}')
        bad = [l for l in lines if 'level=error' in l]
        if bad:
            self.problem(f'{len(bad)} error line(s), the first: {bad[0]}')
        totals = [dict(re.findall(r'(\w+)=(\S+)', l)) for l in lines if 'msg=totals' in l]
        self.totals = totals[-1] if totals else {}
        expect = sum(r['accepted'] for r in self.runs) + self.n['side_messages'] + 1
        if int(self.totals.get('transactions', -1)) != expect:
            self.problem(f'totals: transactions={self.totals.get("transactions")}, expected {expect} '
                         '(the load generator\'s accepted, the side messages and the last one)')
        if int(self.totals.get('replies_451', 0)) != self.n['side_refused']:
            self.problem(f'totals: replies_451={self.totals.get("replies_451")}, the faults made {self.n["side_refused"]}')
        reloads = sum('msg="TLS certificate reloaded"' in l for l in lines)
        if reloads != self.n['sighups']:
            self.problem(f'{self.n["sighups"]} SIGHUPs, {reloads} reloads logged')

    def report(self) -> int:
        a, n = self.a, self.n
        span = self.rss[-1][0] if self.rss else 0
        warm_s = max(span * a.warmup, self.first_round_s)   # the first round or the share, whichever is longer
        warm = [kib for t, kib in self.rss if t >= warm_s]
        bound = a.rss_bound + a.rss_slack
        lo, hi = (min(warm), max(warm)) if warm else (0, 0)
        if warm and (hi - lo) / 1024 > bound:
            self.problem(f'RSS after warm-up moved {(hi - lo) / 1024:.1f} MiB, bound {bound} MiB')
        per_shape = {}
        for shape, _, _ in SHAPES:
            rows = [r for r in self.runs if r['shape'] == shape]
            msgs, secs = sum(r['accepted'] for r in rows), sum(r['elapsed_s'] for r in rows)
            per_shape[shape] = {'messages': msgs, 'seconds': round(secs, 1), 'msg_s': round(msgs / secs) if secs else 0,
                                'runs': len(rows), 'tls_resumed': sum(r['tls_resumed'] for r in rows),
                                'connections': sum(r['connections'] for r in rows)}
        elapsed = time.monotonic() - self.t0
        summary = {
            'ok': not self.problems, 'messages': sum(r['accepted'] for r in self.runs), 'runs': len(self.runs),
            'verify_ok': sum(r['verify'] is True for r in self.runs), 'elapsed_s': round(elapsed, 1),
            'shapes': per_shape, 'side_messages': n['side_messages'], 'side_refused': n['side_refused'],
            'side_epochs': n['side_epochs'], 'resets': n['resets'], 'ring_emptied': n['ring_emptied'],
            'sighups': n['sighups'], 'faults_added': n['faults_added'], 'faults_removed': n['faults_removed'],
            'slow_connections': n['slow_opened'], 'http_reads': n['http_reads'], 'verify_reads': n['verify_reads'],
            'rss_mib': {'start': round(self.rss[0][1] / 1024, 1) if self.rss else 0,
                        'warmup_s': round(warm_s, 1), 'after_warmup': round(warm[0] / 1024, 1) if warm else 0,
                        'min': round(lo / 1024, 1), 'max': round(hi / 1024, 1),
                        'end': round(self.rss_end / 1024, 1), 'bound': bound},
            'fds': {'start': self.fd_start, 'baseline': self.fd_base, 'max': max(self.fds, default=0),
                    'end': self.fd_end},
            'totals_transactions': int(self.totals.get('transactions', -1)), 'problems': self.problems,
        }
        md = self.markdown(summary)
        print(md)
        if a.out:
            os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
            with open(a.out, 'w') as f:
                f.write(md + '\n')
            print(f'saved {a.out}', file=sys.stderr)
        if a.json:
            print(json.dumps(summary))
        return 0 if not self.problems else 1

    def markdown(self, s: dict) -> str:
        a = self.a
        out = [f'# Soak{" (short)" if a.short else ""}', '']
        for m in a.meta:
            k, _, v = m.partition('=')
            out.append(f'- {k}: {v}')
        out += [f'- command: `{a.command or " ".join(sys.argv)}`',
                f'- daemon: `{" ".join(os.path.basename(c) if c == self.a.binary else c for c in self.cmd)}`'
                .replace(self.work, '$WORK'),
                f'- load average at the end: {" ".join(open("/proc/loadavg").read().split()[:3])}',
                f'- elapsed: {s["elapsed_s"]} s', '',
                f'## Result: {"ok" if s["ok"] else "FAILED"}', '',
                f'{s["messages"]:,} load generator messages in {s["runs"]} runs ({a.rounds} rounds of the three shapes), '
                f'{s["verify_ok"]} of {s["runs"]} runs passed `--verify`; each run\'s flow held exactly its accepted '
                f'messages, recipients and bytes; the final totals counted {s["totals_transactions"]:,} transactions '
                f'(the load generator\'s, {s["side_messages"]} side messages and one last message: each counted once).', '',
                '| shape | runs | messages | seconds | msg/s | connections | TLS resumed |',
                '| --- | ---: | ---: | ---: | ---: | ---: | ---: |']
        for name, v in s['shapes'].items():
            out.append(f'| {name} | {v["runs"]} | {v["messages"]:,} | {v["seconds"]} | {v["msg_s"]:,} | '
                       f'{v["connections"]:,} | {v["tls_resumed"]:,} |')
        r, f = s['rss_mib'], s['fds']
        out += ['', '| meanwhile | count |', '| --- | ---: |',
                f'| HTTP reads (/metrics, /api/v1/flows, capture list and a message) | {s["http_reads"]:,} |',
                f'| side epochs (10 messages, 3 fault refusals, counts checked exactly) | {s["side_epochs"]} |',
                f'| flow resets (side flows and each finished run\'s flow) | {s["resets"]} |',
                f'| capture ring emptied | {s["ring_emptied"]} |',
                f'| SIGHUPs (certificate swapped; reload line and new certificate checked) | {s["sighups"]} |',
                f'| fault rules added / removed | {s["faults_added"]} / {s["faults_removed"]} |',
                f'| slow connections opened and abandoned | {s["slow_connections"]} |', '',
                f'RSS (VmRSS, sampled every second): {r["start"]} MiB at start; after the warm-up (the first round or the first '
                f'{a.warmup:.0%} of the run, whichever is longer: {r["warmup_s"]} s) {r["after_warmup"]} MiB, min {r["min"]} MiB, max {r["max"]} MiB (max - min '
                f'{r["max"] - r["min"]:.1f} MiB, bound {r["bound"]} MiB); {r["end"]} MiB at the end.', '',
                f'Descriptors (/proc/PID/fd): {f["start"]} at start, baseline {f["baseline"]} (after one message, '
                f'one API read and one reload), max {f["max"]} during the run, {f["end"]} at the end.', '']
        out += [f'PROBLEM: {p}' for p in s['problems']] or ['No problem found.']
        return '\n'.join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    root = os.path.dirname(HERE)
    p.add_argument('--binary', default=os.path.join(root, 'build', 'smtp-blackhole'))
    p.add_argument('--loadgen', help='default: loadgen/smtp-blackhole-loadgen next to --binary')
    p.add_argument('--messages', type=int, help='load generator messages in all (default 10,000,000; --short 200,000)')
    p.add_argument('--short', action='store_true', help='the CI size: 200,000 messages, 2 rounds')
    p.add_argument('--rounds', type=int, help='rounds of the three shapes (default 10; --short 2)')
    p.add_argument('--threads', type=int, default=2, help='the daemon\'s --threads')
    p.add_argument('--rss-bound', type=int, default=16, help='MiB RSS may move after warm-up (default 16)')
    p.add_argument('--rss-slack', type=int, default=0,
                   help='MiB added to the bound: what a sanitizer holds back of freed memory (ASan\'s quarantine)')
    p.add_argument('--warmup', type=float, default=0.2, help='share of the run that is warm-up at least (default 0.2); the first round is, in any case')
    p.add_argument('--sighup-every', type=float, default=3.0, help='seconds between SIGHUPs (default 3)')
    p.add_argument('--budget', type=float, help='seconds the whole run may take (default 3600; --short 300)')
    p.add_argument('--work', help='scratch folder (default: a new one in $TMPDIR)')
    p.add_argument('--out', help='save the markdown report here too')
    p.add_argument('--json', action='store_true', help='print a JSON summary as the last line')
    p.add_argument('--meta', action='append', default=[], help='key=value shown at the top of the report')
    p.add_argument('--command', help='the command line to show in the report')
    a = p.parse_args()
    a.factor = float(os.environ.get('TEST_TIMEOUT_FACTOR', '1'))
    a.messages = a.messages or (200_000 if a.short else 10_000_000)
    a.rounds = a.rounds or (2 if a.short else 10)
    a.budget = a.budget or (300 if a.short else 3600) * a.factor
    a.loadgen = a.loadgen or os.path.join(os.path.dirname(a.binary), 'loadgen', 'smtp-blackhole-loadgen')
    for f in (a.binary, a.loadgen):
        if not os.access(f, os.X_OK):
            print(f'soak: {f} is not built (scripts/build.sh)', file=sys.stderr)
            return 2
    s = Soak(a)
    try:
        return s.run()
    finally:
        if s.proc and s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait(10)
        if not a.work:
            shutil.rmtree(s.work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
