"""systemd's side of a service, for the tests and without systemd as PID 1: a NOTIFY_SOCKET the test owns (an
AF_UNIX datagram socket that keeps every notification with its sender's pid), systemd-socket-activate command
lines that pass real LISTEN_FDS, free loopback ports for them, and a launcher that sets WATCHDOG_PID to the
daemon's own pid; ActivationTest starts daemons under systemd-socket-activate. Standard library only; every wait is
bounded."""
from __future__ import annotations

import itertools
import os
import shutil
import socket
import struct
import threading
import time

from api import FlowTest
from daemon import Daemon
from replies import HOST

SOCKET_ACTIVATE = next((p for p in (shutil.which('systemd-socket-activate'), '/usr/bin/systemd-socket-activate',
                                    '/lib/systemd/systemd-socket-activate') if p and os.path.exists(p)),
                       'systemd-socket-activate')

# sh -c SCRIPT BINARY ARGS...: the shell exports its own pid, then becomes the daemon (same pid) by exec.
WATCHDOG_PID_IS_OWN = ('/bin/sh', '-c', 'export WATCHDOG_PID=$$; exec "$0" "$@"')

_names = itertools.count()


def free_ports(n: int) -> list[int]:
    """n distinct loopback TCP ports that were free a moment ago (for systemd-socket-activate, which takes no
    port 0)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(('127.0.0.1', 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def socket_activate(sockets: list[tuple[str, str]], *flags: str) -> list[str]:
    """The systemd-socket-activate command line that listens on each (address, name) of `sockets` and, at the first
    connection to any, execs the command appended to it with LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES set."""
    argv = [SOCKET_ACTIVATE, *flags]
    for address, _ in sockets:
        argv += ['-l', address]
    return argv + ['--fdname=' + ':'.join(name for _, name in sockets)]


def activator_listening(line: str) -> bool:
    """systemd-socket-activate's `Listening on ADDRESS as FD.` line."""
    return line.startswith('Listening on ')


def after_exec(lines: list[str]) -> list[str]:
    """What the process printed after systemd-socket-activate's `Execing ...` line: the daemon's lines."""
    marks = [i for i, l in enumerate(lines) if l.startswith('Execing ')]
    if not marks:
        raise AssertionError(f'systemd-socket-activate never exec\'d the daemon: {lines}')
    return lines[marks[0] + 1:]


class NotifySocket:
    """A NOTIFY_SOCKET as systemd would own it: an AF_UNIX datagram socket, in the abstract namespace unless a path
    is given, whose datagrams are kept in order as (text, sender pid), the pid from SO_PASSCRED."""

    def __init__(self, path: str | None = None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        if path is None:
            name = f'smtp-blackhole-test-{os.getpid()}-{next(_names)}'
            self.sock.bind('\0' + name)
            self.address = '@' + name
        else:
            self.sock.bind(path)
            self.address = path
        self.sock.settimeout(0.1)
        self.messages: list[tuple[str, int | None]] = []
        self.arrived: list[float] = []  # time.monotonic() of each message
        self._cond = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def env(self) -> dict[str, str]:
        return {'NOTIFY_SOCKET': self.address}

    def _read(self) -> None:
        while not self._closed:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                continue
            except OSError:
                break
            pid = None
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack('iII', payload[:12])[0]
            with self._cond:
                self.messages.append((data.decode('utf-8', 'replace'), pid))
                self.arrived.append(time.monotonic())
                self._cond.notify_all()

    def texts(self) -> list[str]:
        with self._cond:
            return [t for t, _ in self.messages]

    def wait_for(self, pred, timeout: float, what: str) -> list[str]:
        """Waits until pred(every text so far) is true and returns the texts; fails at the deadline."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred([t for t, _ in self.messages]):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f'timed out after {timeout}s waiting for {what}; notifications: '
                                         f'{self.messages}')
                self._cond.wait(left)
            return [t for t, _ in self.messages]

    def wait_count(self, text: str, n: int, timeout: float) -> list[str]:
        """Waits until `text` has come n times."""
        return self.wait_for(lambda ts: ts.count(text) >= n, timeout, f'{text!r} x{n}')

    def close(self) -> None:
        self._closed = True
        self._reader.join(2)
        self.sock.close()


class ActivationTest(FlowTest):
    """A FlowTest with NOTIFY_SOCKETs and daemons started by systemd-socket-activate."""

    def notify_socket(self, path: str | None = None) -> NotifySocket:
        n = NotifySocket(path)
        self.addCleanup(n.close)
        return n

    def activated(self, sockets: list[tuple[str, str]], *args: str, listen=(), http=(), activator_flags=(),
                  **kw) -> Daemon:
        """A daemon (named mx.test) behind systemd-socket-activate listening on each (address, name) of
        `sockets`; returns once those listen. The daemon itself starts at the first connection to one of them
        (then d.await_start). With no --*-listen flags by default: a kind no socket is passed for binds its
        default address."""
        d = self.start('--hostname', HOST, *args, listen=listen, http=http, wait_started=False,
                       launcher=socket_activate(sockets, *activator_flags), **kw)
        d.wait_until(lambda lines: sum(map(activator_listening, lines)) >= len(sockets), 5,
                     'systemd-socket-activate listening')
        return d
