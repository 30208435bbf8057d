"""The options of the sockets the daemon accepts, read from the daemon's own descriptors: each accepted socket is
copied into this process with pidfd_getfd(2) (Linux 5.6, root) and asked with getsockopt. TCP_NODELAY is set on
the listeners once and inherited by every accepted socket (no setsockopt per connection); accepted sockets are
non-blocking. The client address logged and captured comes from accept() itself (no getpeername)."""
from __future__ import annotations

import ctypes
import fcntl
import os
import socket
import time

from api import FlowTest
from replies import HOST
from sanitizers import scaled
from tlsutil import TlsTest

SYS_PIDFD_GETFD = 438  # x86_64 and most other architectures


def _pidfd_getfd(pid: int, fd: int) -> int:
    """A copy in this process of descriptor `fd` of process `pid`."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        got = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if got < 0:
            err = ctypes.get_errno()
            raise OSError(err, f'pidfd_getfd({pid}, {fd}): {os.strerror(err)}')
        return got
    finally:
        os.close(pidfd)


def accepted_socket(pid: int, client: socket.socket, timeout: float = 5.0) -> socket.socket:
    """The daemon's end of `client`'s connection, as a socket object of this process (a copy of its descriptor:
    options are the same socket's; closing the copy leaves the daemon's open). Waits (bounded) for the daemon to
    accept it: the client's connect returns once the kernel has the connection."""
    want = client.getsockname()  # the daemon's end has this as its peer
    deadline = time.monotonic() + timeout
    while True:
        s = _find_peer(pid, want)
        if s is not None:
            return s
        if time.monotonic() >= deadline:
            raise AssertionError(f'no socket of process {pid} has the peer {want} after {timeout}s')
        time.sleep(0.02)


def daemon_sockets(pid: int):
    """Copies in this process of every TCP socket process `pid` holds, one at a time: each is closed when the
    caller asks for the next (or stops)."""
    for name in os.listdir(f'/proc/{pid}/fd'):
        try:
            if not os.readlink(f'/proc/{pid}/fd/{name}').startswith('socket:'):
                continue
        except FileNotFoundError:
            continue  # closed meanwhile
        s = socket.socket(fileno=_pidfd_getfd(pid, int(name)))
        try:
            if s.type == socket.SOCK_STREAM and s.family in (socket.AF_INET, socket.AF_INET6):
                yield s
        finally:
            s.close()


def _find_peer(pid: int, want) -> socket.socket | None:
    for s in daemon_sockets(pid):
        try:
            if s.getpeername() == want:
                return socket.socket(fileno=os.dup(s.fileno()))
        except OSError:
            pass  # a listener: no peer
    return None


class TestAcceptedSockets(TlsTest, FlowTest):
    def check_accepted(self, pid: int, client: socket.socket) -> None:
        s = accepted_socket(pid, client)
        try:
            self.assertEqual(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), 1)  # from the listener, at once
            # O_NONBLOCK comes when the worker takes the socket, just after accept() made it: the descriptor can be
            # seen before (an implicit-TLS client gets no greeting to wait for; under ASan the gap is wide).
            def nonblocking() -> bool:
                return bool(fcntl.fcntl(s.fileno(), fcntl.F_GETFL) & os.O_NONBLOCK)
            deadline = time.monotonic() + scaled(5)
            while not nonblocking() and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertTrue(nonblocking())
        finally:
            s.close()

    def test_smtp_and_smtps_sockets_have_nodelay_without_a_call_per_connection(self):
        d = self.start_tls('--hostname', HOST, '--threads', '2', smtps=1)
        for port in (d.port, d.smtps_ports[0]):
            clients = [socket.create_connection(('127.0.0.1', port), timeout=5) for _ in range(4)]
            for c in clients:
                self.addCleanup(c.close)
                if port == d.port:
                    self.assertTrue(c.recv(512).startswith(b'220 '))
            for c in clients:
                self.check_accepted(d.pid, c)
        # The listeners carry the option themselves.
        listening = 0
        for s in daemon_sockets(d.pid):
            ours = s.getsockname()[1] in (d.port, d.smtps_ports[0])
            if ours and s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                listening += 1
                self.assertEqual(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), 1, s.getsockname())
        self.assertEqual(listening, 4)  # two workers, each its own SO_REUSEPORT listener per port

    def test_the_client_address_comes_from_accept(self):
        # The address accept() gave is the one the capture ring shows.
        d = self.begin('--threads', '1', '--http-listen', '127.0.0.1:0', '--sample-rate', '1')
        c = self.smtp(d)
        port = c.sock.getsockname()[1]
        self.assertRegex(self.transaction(c, b'Subject: from accept\r\n\r\nbody\r\n'), r'^250 ')
        self.quit(c)
        self.assertEqual([m['client'] for m in self.captured(d, 1)], [f'127.0.0.1:{port}'])
        self.stop(d)
