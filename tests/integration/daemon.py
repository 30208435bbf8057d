"""Process control for the integration tests: start the real daemon and wait (bounded) for its listeners, read
its key=value log lines as they come, signal and stop it, run the binary to completion, and kill every process
started here at test cleanup and at exit."""
from __future__ import annotations

import atexit
import ctypes
import os
import signal
import subprocess
import threading
import time

from parsers import parse_kv, parse_totals
from sanitizers import scaled

BINARY: str | None = None  # set by run.py (--binary)

START_TIMEOUT = scaled(10.0)  # seconds until the daemon logs msg=started
STOP_TIMEOUT = scaled(20.0)  # seconds until the daemon exits after a signal

_live: set[subprocess.Popen] = set()  # every process started here and not yet reaped
_live_lock = threading.Lock()
_leftover_hooks: list = []  # more clean-ups for _kill_leftovers (other process kinds, e.g. a Postfix master)


def at_leftovers(fn) -> None:
    """Registers fn to run whenever the leftovers are cleaned up: at exit, and when run.py gives up on a hung
    suite (which leaves by os._exit, without atexit)."""
    _leftover_hooks.append(fn)


def _kill_leftovers() -> None:
    for fn in _leftover_hooks:
        fn()
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


def daemon_env(env: dict[str, str] | None) -> dict[str, str]:
    """The environment a daemon runs with: this process's, without any SMTP_BLACKHOLE_* variable (each one is a
    flag to the daemon), plus `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith('SMTP_BLACKHOLE_')}
    return {**base, **(env or {})}


def run_binary(args, timeout=5.0, env: dict[str, str] | None = None, http=True):
    """Runs the binary to completion (bounded) with a free HTTP port (unless http is False); a run that does not
    end is killed and reported (None)."""
    try:
        return subprocess.run([BINARY] + (http_args() if http else []) + list(args), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout, env=daemon_env(env))
    except subprocess.TimeoutExpired:
        return None


def listen_endpoints(lines: list[str], proto: str) -> list[tuple[str, int]]:
    """(host, port) of each `listening PROTO ADDR:PORT` line logged at start (proto: smtp, smtps, http)."""
    out = []
    for kv in map(parse_kv, lines):
        if kv.get('proto') == proto and 'addr' in kv and kv.get('msg', '').startswith(f'listening {proto} '):
            host, _, port = kv['addr'].rpartition(':')
            out.append((host.strip('[]'), int(port)))
    return out


def listen_ports(d: Daemon, proto: str) -> list[int]:
    """The ports of the `listening PROTO ADDR:PORT` lines the daemon logged at start."""
    return [port for _, port in listen_endpoints(d.lines, proto)]


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
    `listen` are the SMTP listeners, `http` the HTTP ones (passed only if the binary has --http-listen).
    `launcher` is a command line the daemon's is appended to, one that ends by exec'ing it (so that the process
    started here is the daemon), e.g. systemd-socket-activate."""

    def __init__(self, *args: str, listen=('127.0.0.1:0',), http=('127.0.0.1:0',), preexec_fn=None,
                 wait_started=True, env: dict[str, str] | None = None, expect_listeners: int | None = None,
                 launcher=()):
        if BINARY is None:
            raise RuntimeError('daemon.BINARY is not set')
        argv = list(launcher) + [BINARY]
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
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     preexec_fn=_child_setup(preexec_fn), env=daemon_env(env))
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
            self.await_start(len(listen) if expect_listeners is None else expect_listeners,
                             len(http) if http_flags else None)

    def await_start(self, listeners: int, http: int | None = None) -> None:
        """Waits (bounded) for msg=started and reads the `listening` lines: `listeners` SMTP ones and, unless http
        is None, `http` HTTP ones; anything else kills the daemon and fails."""
        self.wait_line(lambda l: parse_kv(l).get('msg') == 'started', START_TIMEOUT)
        self.endpoints = listen_endpoints(self.lines, 'smtp')
        self.http_endpoints = listen_endpoints(self.lines, 'http')
        if len(self.endpoints) != listeners:
            self.kill()
            raise AssertionError(f'expected {listeners} listening lines, got: {self.lines}')
        if http is not None and len(self.http_endpoints) != http:
            self.kill()
            raise AssertionError(f'expected {http} "listening http" lines, got: {self.lines}')

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
        """Waits until a stderr line (index >= start) satisfies pred and returns it; fails at the deadline or at EOF."""
        i = start

        def found(lines):
            nonlocal i
            while i < len(lines) and not pred(lines[i]):
                i += 1
            return i < len(lines)
        self.wait_until(found, timeout, 'the awaited log line')
        return self.lines[i]

    def wait_until(self, pred, timeout: float, what: str) -> None:
        """Waits until pred(all stderr lines so far) is true; fails at the deadline or at EOF."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred(self.lines):
                if self._eof:
                    raise AssertionError(f'daemon stderr ended before: {what}; stderr: {self.lines}')
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f'timed out after {timeout}s waiting for: {what}; stderr: {self.lines}')
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
