"""Shared helpers for the integration tests: start and stop the real daemon, read its key=value logs and
final totals, talk raw SMTP over a socket, and record what a real client puts on the wire.

Every wait here has a deadline; every daemon started here is killed at test cleanup and at exit."""
from __future__ import annotations

import atexit
import ctypes
import os
import re
import signal
import socket
import subprocess
import threading
import time
import unittest

BINARY: str | None = None  # set by run.py (--binary)

START_TIMEOUT = 10.0  # seconds until the daemon logs msg=started
STOP_TIMEOUT = 20.0  # seconds until the daemon exits after a signal
IO_TIMEOUT = 5.0  # default per-read socket timeout of the raw client

_live: set[subprocess.Popen] = set()  # every process started here and not yet reaped
_live_lock = threading.Lock()


def _kill_leftovers() -> None:
    with _live_lock:
        procs = list(_live)
    for p in procs:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass


atexit.register(_kill_leftovers)

_PR_SET_PDEATHSIG = 1


def _child_setup(user_fn):
    """In the child before exec: die with the test runner (even if it is killed), then the caller's setup."""
    def setup():
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
        if user_fn is not None:
            user_fn()
    return setup

_http_flag: bool | None = None  # whether BINARY knows --http-listen (cached)


def http_supported() -> bool:
    """Whether the binary has the HTTP listener (its --help mentions --http-listen)."""
    global _http_flag
    if _http_flag is None:
        try:
            p = subprocess.run([BINARY, '--help'], stdin=subprocess.DEVNULL, capture_output=True, timeout=5)
            _http_flag = b'--http-listen' in p.stdout
        except (OSError, subprocess.TimeoutExpired):
            _http_flag = False
    return _http_flag


def http_args(http=('127.0.0.1:0',)) -> list[str]:
    """The --http-listen flags for these listeners, or none if the binary has no HTTP listener: every daemon a
    test starts binds a free HTTP port, never the default 127.0.0.1:8025."""
    if not http_supported():
        return []
    return [a for l in http for a in ('--http-listen', l)]


def run_binary(args, timeout=5.0):
    """Runs the binary to completion (bounded) with a free HTTP port; a run that does not end is killed and
    reported (None)."""
    try:
        return subprocess.run([BINARY] + http_args() + list(args), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


_KV = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_kv(line: str) -> dict[str, str]:
    """Parses one key=value log line; quoted values lose their quotes (escapes are kept as written)."""
    out = {}
    for k, v in _KV.findall(line):
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            v = v[1:-1]
        out[k] = v
    return out


def parse_totals(line: str) -> dict[str, int]:
    """The final `msg=totals` line as a dict of ints (everything but ts, level and msg)."""
    kv = parse_kv(line)
    if kv.get('msg') != 'totals':
        raise AssertionError(f'not a totals line: {line!r}')
    return {k: int(v) for k, v in kv.items() if k not in ('ts', 'level', 'msg')}


class Stopped:
    """What a stopped daemon left behind."""

    def __init__(self, returncode: int, lines: list[str], elapsed: float):
        self.returncode = returncode
        self.lines = lines
        self.elapsed = elapsed
        totals = [l for l in lines if parse_kv(l).get('msg') == 'totals']
        self.totals_lines = totals
        self.totals = parse_totals(totals[-1]) if totals else None


class Daemon:
    """One smtp-blackhole process. Starts it, waits (bounded) for its listeners, and knows their ports.
    `listen` are the SMTP listeners, `http` the HTTP ones (passed only if the binary has --http-listen)."""

    def __init__(self, *args: str, listen=('127.0.0.1:0',), http=('127.0.0.1:0',), preexec_fn=None,
                 wait_started=True):
        if BINARY is None:
            raise RuntimeError('daemon.BINARY is not set')
        argv = [BINARY]
        for l in listen:
            argv += ['--smtp-listen', l]
        http_flags = http_args(http) if '--http-listen' not in args else []
        argv += http_flags
        argv += list(args)
        self.argv = argv
        self.lines: list[str] = []
        self.stdout = b''
        self._cond = threading.Condition()
        self._eof = False
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, preexec_fn=_child_setup(preexec_fn))
        with _live_lock:
            _live.add(self.proc)
        self.pid = self.proc.pid
        self._err_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._out_reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._err_reader.start()
        self._out_reader.start()
        self.endpoints: list[tuple[str, int]] = []
        self.http_endpoints: list[tuple[str, int]] = []
        if wait_started:
            self.wait_line(lambda l: parse_kv(l).get('msg') == 'started', START_TIMEOUT)
            for l in self.lines:
                kv = parse_kv(l)
                for proto, eps in (('smtp', self.endpoints), ('http', self.http_endpoints)):
                    if kv.get('proto') == proto and 'addr' in kv and \
                            kv.get('msg', '').startswith(f'listening {proto}'):
                        host, _, port = kv['addr'].rpartition(':')
                        eps.append((host.strip('[]'), int(port)))
            if len(self.endpoints) != len(listen):
                self.kill()
                raise AssertionError(f'expected {len(listen)} listening lines, got: {self.lines}')
            if http_flags and len(self.http_endpoints) != len(http):
                self.kill()
                raise AssertionError(f'expected {len(http)} "listening http" lines, got: {self.lines}')

    def _read_stderr(self) -> None:
        for raw in self.proc.stderr:
            line = raw.decode('utf-8', 'replace').rstrip('\n')
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def _read_stdout(self) -> None:
        self.stdout = self.proc.stdout.read()

    @property
    def port(self) -> int:
        return self.endpoints[0][1]

    @property
    def http_port(self) -> int:
        if not self.http_endpoints:
            raise AssertionError(f'the daemon logged no "listening http" line; stderr: {self.lines}')
        return self.http_endpoints[0][1]

    def wait_line(self, pred, timeout: float, start: int = 0) -> str:
        """Waits until a stderr line (index >= start) satisfies pred; fails at the deadline or at EOF."""
        deadline = time.monotonic() + timeout
        with self._cond:
            i = start
            while True:
                while i < len(self.lines):
                    if pred(self.lines[i]):
                        return self.lines[i]
                    i += 1
                if self._eof:
                    raise AssertionError(f'daemon stderr ended without the awaited line; stderr: {self.lines}')
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f'timed out after {timeout}s waiting for a log line; stderr: {self.lines}')
                self._cond.wait(left)

    def wait_until(self, pred, timeout: float, what: str) -> None:
        """Waits until pred(all stderr lines so far) is true; fails at the deadline or at EOF."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred(self.lines):
                if self._eof:
                    raise AssertionError(f'daemon stderr ended before: {what}; stderr: {self.lines}')
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f'timed out after {timeout}s waiting for: {what}')
                self._cond.wait(left)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send_signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout: float) -> Stopped:
        """Waits for the process to exit by itself (bounded)."""
        t0 = time.monotonic()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f'daemon did not exit within {timeout}s; stderr: {self.lines}')
        elapsed = time.monotonic() - t0
        self._err_reader.join(5)
        self._out_reader.join(5)
        with _live_lock:
            _live.discard(self.proc)
        return Stopped(rc, list(self.lines), elapsed)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> Stopped:
        self.send_signal(sig)
        return self.wait(timeout)

    def kill(self) -> None:
        """Cleanup: SIGKILL this process (by its PID) if it still runs, and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for s in (self.proc.stdout, self.proc.stderr):
            try:
                s.close()
            except OSError:
                pass
        with _live_lock:
            _live.discard(self.proc)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far, from /proc/PID/stat."""
        with open(f'/proc/{self.pid}/stat') as f:
            stat = f.read()
        fields = stat[stat.rindex(')') + 2:].split()
        # fields[0] is the state (field 3); utime and stime are fields 14 and 15.
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


class Closed(Exception):
    """The server closed the connection while a reply was expected."""


class Client:
    """A raw SMTP client over one socket: send bytes, read whole replies, expect the close."""

    def __init__(self, port: int, host: str = '127.0.0.1', timeout: float = IO_TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self.buf = b''

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data) -> None:
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, timeout: float | None) -> bytes:
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        return self.sock.recv(65536)

    def read_line(self, timeout: float | None = None) -> str:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while b'\r\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout(f'no complete reply line; have {self.buf!r}')
            chunk = self._fill(left)
            if not chunk:
                raise Closed(f'connection closed; unread {self.buf!r}')
            self.buf += chunk
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line.decode('utf-8', 'replace')

    def reply(self, timeout: float | None = None) -> str:
        """One whole reply (multi-line replies joined with \\n), without the CRLFs."""
        lines = []
        while True:
            line = self.read_line(timeout)
            lines.append(line)
            if not re.match(r'^\d{3}[ -]', line) or line[:3] != lines[0][:3]:
                raise AssertionError(f'malformed reply line {line!r} after {lines[:-1]}')
            if line[3] == ' ':
                return '\n'.join(lines)
            if len(lines) > 100:
                raise AssertionError(f'reply too long: {lines}')

    def cmd(self, line: str, timeout: float | None = None) -> str:
        self.send(line + '\r\n')
        return self.reply(timeout)

    def ehlo(self, name: str = 'client.test') -> str:
        return self.cmd(f'EHLO {name}')

    def expect_closed(self, timeout: float | None = None) -> None:
        """The server closes the connection without sending anything more."""
        if self.buf:
            raise AssertionError(f'unexpected bytes before close: {self.buf!r}')
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError('the server did not close the connection in time')
            try:
                chunk = self._fill(left)
            except ConnectionResetError:
                return
            except socket.timeout:
                raise AssertionError('the server did not close the connection in time')
            if not chunk:
                return
            raise AssertionError(f'unexpected bytes before close: {chunk!r}')

    def expect_silence(self, seconds: float) -> None:
        """Nothing arrives (and no close) for `seconds`: a bounded negative check."""
        if self.buf:
            raise AssertionError(f'unexpected bytes: {self.buf!r}')
        try:
            chunk = self._fill(seconds)
        except socket.timeout:
            return
        raise AssertionError(f'expected silence, got {chunk!r}')


class RecordingProxy:
    """A TCP relay 127.0.0.1:ephemeral -> the daemon that records, per connection, the bytes the client sent.
    Used to derive the exact expected byte counts of clients whose messages we do not write ourselves."""

    def __init__(self, target_port: int, target_host: str = '127.0.0.1'):
        self.target = (target_host, target_port)
        self.listener = socket.create_server(('127.0.0.1', 0), backlog=256)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.streams: list[bytearray] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._stop = threading.Event()
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                c, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                u = socket.create_connection(self.target, timeout=10)
            except OSError:
                c.close()
                continue
            rec = bytearray()
            with self._lock:
                self.streams.append(rec)
                self._socks += [c, u]
            for src, dst, r in ((c, u, rec), (u, c, None)):
                t = threading.Thread(target=self._pump, args=(src, dst, r), daemon=True)
                t.start()
                self._threads.append(t)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, rec: bytearray | None) -> None:
        src.settimeout(60)
        try:
            while True:
                d = src.recv(65536)
                if not d:
                    break
                if rec is not None:
                    rec += d
                dst.sendall(d)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self, timeout: float = 10.0) -> None:
        """Stops accepting and waits (bounded) for every relayed connection to finish."""
        self._stop.set()
        self._acceptor.join(timeout)
        self.listener.close()
        deadline = time.monotonic() + timeout
        for t in list(self._threads):
            t.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            for s in self._socks:
                try:
                    s.close()
                except OSError:
                    pass

    def message_sizes(self) -> list[int]:
        out = []
        with self._lock:
            for s in self.streams:
                out += message_sizes(bytes(s))
        return out


def unstuff(body: bytes) -> bytes:
    """RFC 5321 4.5.2 dot-unstuffing of a DATA body given up to (and including) the CRLF before `.CRLF`:
    on every CRLF-delimited line, a leading '.' is removed."""
    return b'\r\n'.join(l[1:] if l.startswith(b'.') else l for l in body.split(b'\r\n'))


def message_sizes(stream: bytes) -> list[int]:
    """From one client->server SMTP stream (DATA only, no BDAT): the unstuffed size of each message body."""
    sizes = []
    pos = 0
    while True:
        eol = stream.find(b'\r\n', pos)
        if eol < 0:
            return sizes
        line = stream[pos:eol]
        pos = eol + 2
        if line.upper() == b'DATA':
            end = stream.find(b'\r\n.\r\n', pos - 2)
            if end < 0:
                return sizes
            body = stream[pos:end + 2] if end + 2 > pos else b''
            sizes.append(len(unstuff(body)))
            pos = end + 5


def make_message(tag: str, body_len: int) -> bytes:
    """A CRLF message of exactly the asked total length when possible (headers + body lines, some starting
    with '.', so that dot-stuffing is exercised); ends with CRLF."""
    head = f'From: <s@test>\r\nTo: <r@test>\r\nSubject: {tag}\r\n\r\n'.encode()
    lines = []
    total = len(head)
    i = 0
    while total < body_len:
        room = body_len - total
        if room < 3:
            line = b'x' * max(0, room - 2)
        else:
            n = min(room - 2, 30 + (i * 7) % 40)
            prefix = b'.' if i % 3 == 0 else b''
            line = (prefix + (b'%d-' % i) + b'y' * n)[:n]
        lines.append(line + b'\r\n')
        total += len(lines[-1])
        i += 1
    return head + b''.join(lines)


class DaemonTest(unittest.TestCase):
    """Base class: start daemons and clients that are always cleaned up, stop and check exact totals."""

    def start(self, *args: str, **kw) -> Daemon:
        """Starts a daemon that is killed at cleanup. Unless the test says otherwise it logs at debug level
        (so that settle() can see sessions close) and drains for at most 5s."""
        args = list(args)
        if '--log-level' not in args:
            args += ['--log-level', 'debug']
        if '--drain-timeout' not in args:
            args += ['--drain-timeout', '5s']
        d = Daemon(*args, **kw)
        self.addCleanup(d.kill)
        return d

    def settle(self, d: Daemon, timeout: float = 5.0) -> None:
        """Waits (bounded) until the daemon has closed every session it opened. With an HTTP listener the
        daemon's own gauge says so (/metrics connections_active 0); the debug log lines `connection open` /
        `connection closed` are checked too, but alone they can race: a `connection open` line the reader
        thread has not read yet looks like no connection at all."""
        deadline = time.monotonic() + timeout
        if d.http_endpoints:
            from api import http_request, metric, parse_prometheus  # here: api imports this module
            while True:
                r = http_request(d.http_port, 'GET', '/metrics', timeout=timeout)
                active = metric(parse_prometheus(r.body.decode('utf-8')), 'smtp_blackhole_connections_active') \
                    if r.status == 200 else None
                if active == 0:
                    break
                if time.monotonic() >= deadline:
                    raise AssertionError(f'sessions still open after {timeout}s: /metrics status {r.status}, '
                                         f'connections_active {active}')
                time.sleep(0.02)

        def done(lines):
            msgs = [parse_kv(l).get('msg') for l in lines]
            opened = msgs.count('connection open')
            return opened == 0 or msgs.count('connection closed') >= opened
        d.wait_until(done, max(0.5, deadline - time.monotonic()), 'every session closed')

    def quit(self, c: Client) -> None:
        """QUIT, 221, the server's close, our close: a session that ends without a 421 at shutdown."""
        self.assertEqual(c.cmd('QUIT'), BYE)
        c.expect_closed()
        c.close()

    def connect(self, d_or_port, host: str = '127.0.0.1', timeout: float = IO_TIMEOUT) -> Client:
        port = d_or_port if isinstance(d_or_port, int) else d_or_port.port
        c = Client(port, host, timeout)
        self.addCleanup(c.close)
        if not hasattr(self, '_clients'):
            self._clients = []
        self._clients.append(c)
        return c

    def session(self, d, hostname: str = 'mx.test', host: str = '127.0.0.1') -> Client:
        """A connection that has read the greeting and said EHLO."""
        c = self.connect(d, host)
        self.assertEqual(c.reply(), f'220 {hostname} ESMTP smtp-blackhole')
        self.assertTrue(c.ehlo().startswith(f'250-{hostname}\n'))
        return c

    def stop(self, d: Daemon, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT,
             settle: bool = True) -> dict[str, int]:
        """Closes every client this test opened, waits until the daemon has closed them too (so that no
        session is open at the signal), signals, checks a clean exit with one final totals line, and
        returns the totals. With settle=False the test manages its open sessions itself."""
        if settle:
            for c in getattr(self, '_clients', []):
                c.close()
            self.settle(d)
        s = d.stop(sig, timeout)
        self.assertEqual(s.returncode, 0, f'exit code; stderr: {s.lines}')
        self.assertEqual(len(s.totals_lines), 1, f'one totals line expected; stderr: {s.lines}')
        self.assertEqual(s.lines[-1], s.totals_lines[0], 'the totals line must be the last line')
        return s.totals

    def assertExit2OneLine(self, args, prefix='smtp-blackhole: ', logs_allowed=False):
        """Exit code 2 and one error line. With logs_allowed (start-up failures), key=value log lines
        written before the failure may precede it; the error line must then be the last line."""
        p = run_binary(args)
        self.assertIsNotNone(p, f'{args}: did not exit (started serving?)')
        err = p.stderr.decode('utf-8', 'replace')
        self.assertEqual(p.returncode, 2, f'{args}: stderr {err!r}')
        self.assertEqual(p.stdout, b'', args)
        self.assertTrue(err.endswith('\n'), f'{args}: {err!r}')
        lines = err[:-1].split('\n')
        if logs_allowed:
            self.assertTrue(all(l.startswith('ts=') for l in lines[:-1]), f'{args}: {err!r}')
        else:
            self.assertEqual(len(lines), 1, f'{args}: not one line: {err!r}')
        self.assertTrue(lines[-1].startswith(prefix), f'{args}: {err!r}')

    def assertTotals(self, totals: dict[str, int], replies: dict[int, int], **expected: int) -> None:
        """Exact totals: every named key, and exactly this set of replies_CODE keys with these counts.
        Also checks that refused is the number of 4xx and 5xx replies."""
        for k, v in expected.items():
            self.assertIn(k, totals, f'{k} missing from totals {totals}')
            self.assertEqual(totals[k], v, f'{k} in totals {totals}')
        got = {int(k[len('replies_'):]): v for k, v in totals.items() if k.startswith('replies_')}
        self.assertEqual(got, replies, f'replies_* in totals {totals}')
        self.assertEqual(totals['refused'], sum(v for c, v in got.items() if c >= 400),
                         f'refused vs 4xx+5xx replies in {totals}')


# Reply texts the daemon promises (exact).
MAIL_OK = '250 2.1.0 Sender ok'
RCPT_OK = '250 2.1.5 Recipient ok'
DATA_GO = '354 End data with <CR><LF>.<CR><LF>'
RSET_OK = '250 2.0.0 Reset ok'
NOOP_OK = '250 2.0.0 Ok'
BYE = '221 2.0.0 Bye'
UNKNOWN = '500 5.5.1 Command unrecognized'
TOO_LONG = '500 5.5.2 Line too long'
UNSUPPORTED_PARAM = '555 5.5.4 Unsupported parameter'
SIZE_EXCEEDED = '552 5.3.4 Message size exceeds fixed limit'
TOO_MANY_RCPTS = '452 4.5.3 Too many recipients'
NOT_IMPLEMENTED = '502 5.5.1 Command not implemented'
BAD_PIPELINING = '503 5.5.0 Improper use of SMTP command pipelining'
SHUTTING_DOWN = '421 4.3.2 Service shutting down, closing transmission channel'
TIMEOUT = '421 4.4.2 Timeout exceeded, closing transmission channel'
QUEUED_RE = re.compile(r'^250 2\.0\.0 Ok: queued as (\d+)\.(\d+)$')

EXTENSIONS = {  # --disable-extension name -> the EHLO keywords it removes
    'pipelining': ['PIPELINING'],
    'size': ['SIZE'],
    '8bitmime': ['8BITMIME', 'BINARYMIME'],
    'smtputf8': ['SMTPUTF8'],
    'enhancedstatuscodes': ['ENHANCEDSTATUSCODES'],
    'chunking': ['CHUNKING', 'BINARYMIME'],
    'dsn': ['DSN'],
    'starttls': ['STARTTLS'],
    'auth': ['AUTH'],
}


def ehlo_reply(hostname: str, size: int = 64 << 20, disabled=(), tls: bool = False, auth: bool = False) -> str:
    """The exact EHLO reply (lines joined with \\n) for these options: STARTTLS is offered before TLS only,
    AUTH (when configured) over TLS only unless --auth-insecure."""
    gone = {k for name in disabled for k in EXTENSIONS[name]}
    words = ['PIPELINING', f'SIZE {size}', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'CHUNKING',
             'BINARYMIME', 'DSN']
    if not tls:
        words.append('STARTTLS')
    if auth:
        words.append('AUTH PLAIN LOGIN CRAM-MD5')
    lines = [hostname] + [w for w in words if w.split()[0] not in gone]
    return '\n'.join(f'250{"-" if i + 1 < len(lines) else " "}{l}' for i, l in enumerate(lines))


def command_counts(stream: bytes) -> dict[str, int]:
    """From one client->server SMTP stream (DATA only): how many times each command verb was sent."""
    counts: dict[str, int] = {}
    pos = 0
    while True:
        eol = stream.find(b'\r\n', pos)
        if eol < 0:
            return counts
        line = stream[pos:eol]
        pos = eol + 2
        verb = line.split(b' ', 1)[0].upper().decode('ascii', 'replace')
        counts[verb] = counts.get(verb, 0) + 1
        if verb == 'DATA' and line.upper() == b'DATA':
            end = stream.find(b'\r\n.\r\n', pos - 2)
            if end < 0:
                return counts
            pos = end + 5
