"""The recording relay the integration tests put between a real client (smtp-source, swaks) and the daemon.
Every wait is bounded."""
from __future__ import annotations

import socket
import threading
import time

from parsers import message_sizes


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
