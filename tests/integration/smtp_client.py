"""A raw SMTP client over one socket for the integration tests: send bytes, read whole replies, expect the
server's close or its silence. Every read has a deadline."""
from __future__ import annotations

import re
import socket
import time

IO_TIMEOUT = 5.0  # default per-read socket timeout


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

    def read_to_close(self, timeout: float, what: str) -> list[bytes]:
        """The chunks the server sends until it closes (a reset counts as a close); fails with `what` if it
        has not closed within `timeout`."""
        deadline = time.monotonic() + timeout
        chunks = [self.buf] if self.buf else []
        self.buf = b''
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f'{what}; got {b"".join(chunks)!r}')
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(4096)
            except ConnectionResetError:
                return chunks
            if not chunk:
                return chunks
            chunks.append(chunk)

    def expect_silence(self, seconds: float) -> None:
        """Nothing arrives (and no close) for `seconds`: a bounded negative check."""
        if self.buf:
            raise AssertionError(f'unexpected bytes: {self.buf!r}')
        try:
            chunk = self._fill(seconds)
        except socket.timeout:
            return
        raise AssertionError(f'expected silence, got {chunk!r}')
