"""Requests the HTTP listeners cannot read are answered before the close, on the main API (--http-listen) and the
Mailpit-compatible API (--mailpit-listen) alike: 431 for a header block over 16384 bytes, 413 for a body over the
listener's bound (64 KiB on the main API, 1 MiB on Mailpit's; a declared Content-Length at once, before any body
byte is sent, a chunked body as soon as it grows past it), 400 for bytes that are not HTTP/1.x (a TLS ClientHello,
a request line without a target, a header line without a colon, a bad Content-Length or chunk). Each answer is
exactly one HTTP/1.1 response, `{"error": ...}` as application/json with Connection: close, after which the server
closes, and the listener goes on serving new connections. Raw sockets for the exact bytes; http.client and curl
for what clients make of it."""
from __future__ import annotations

import http.client
import json
import os
import select
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass

from api import FlowTest
from daemon import listen_endpoints
from http_client import HTTP_TIMEOUT, http_request

HEADER_LIMIT = 16384
TOO_BIG_HEADERS = b'{"error":"request header block larger than 16384 bytes"}'
READ_LIMIT = 1 << 20  # bytes of an answer read before giving up on its end


@dataclass
class Listener:
    name: str
    port: int
    body_limit: int
    body_path: str  # a request that takes a body: `METHOD /path`
    probe: str  # a path that answers 200 at once
    probe_body: bytes

    def too_big_body(self) -> bytes:
        return b'{"error":"request body larger than %d bytes"}' % self.body_limit


def client_hello() -> bytes:
    """The first bytes a TLS client sends: a real ClientHello from Python's ssl module (no socket)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname='localhost')
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    assert hello[:1] == b'\x16', hello[:16]
    return hello


def read_to_eof(s: socket.socket) -> bytes:
    """Everything the server sends until it closes (bounded in bytes, and in time by the socket's timeout)."""
    out = b''
    while len(out) < READ_LIMIT:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    return out


class TestHttpErrors(FlowTest):
    def setUp(self):
        d = self.begin('--mailpit-listen', '127.0.0.1:0')
        mailpit = listen_endpoints(d.lines, 'mailpit')
        self.assertEqual(len(mailpit), 1, d.lines)
        self.listeners = [
            Listener('http', d.http_port, 64 * 1024, 'POST /api/v1/faults', '/healthz', b'{"status":"ok"}'),
            Listener('mailpit', mailpit[0][1], 1024 * 1024, 'DELETE /api/v1/messages', '/livez', b''),
        ]

    def connect(self, l: Listener) -> socket.socket:
        s = socket.create_connection(('127.0.0.1', l.port), timeout=HTTP_TIMEOUT)
        self.addCleanup(s.close)
        return s

    def assertRefusal(self, l: Listener, answer: bytes, status: str, error: bytes) -> None:
        """`answer` (all the server sent before closing) is exactly one such response; then the listener still
        answers its probe on a new connection."""
        head, sep, body = answer.partition(b'\r\n\r\n')
        self.assertEqual(sep, b'\r\n\r\n', answer[:500])
        lines = head.decode('ascii').split('\r\n')
        self.assertEqual(lines[0], f'HTTP/1.1 {status}', answer[:500])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(':')
            self.assertNotIn(name.lower(), fields, answer[:500])
            fields[name.lower()] = value.strip()
        self.assertEqual(fields.get('content-type'), 'application/json', answer[:500])
        self.assertEqual(fields.get('connection'), 'close', answer[:500])
        self.assertEqual(fields.get('content-length'), str(len(body)), answer[:500])
        self.assertEqual(body, error)
        json.loads(body)
        self.assertProbe(l)

    def assertProbe(self, l: Listener) -> None:
        r = http_request(l.port, 'GET', l.probe)
        self.assertEqual((r.status, r.body), (200, l.probe_body), f'{l.name} {l.probe} after a refusal')

    def refuse(self, l: Listener, data: bytes) -> bytes:
        s = self.connect(l)
        s.sendall(data)
        return read_to_eof(s)

    def test_header_block_over_16384_bytes_is_431(self):
        for l in self.listeners:
            with self.subTest(l.name):
                head = f'GET {l.probe} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: '.encode()
                pad = HEADER_LIMIT - len(head) - 4
                # A block of exactly 16384 bytes is read and answered; one byte more is not.
                s = self.connect(l)
                s.sendall(head + b'p' * pad + b'\r\n\r\n')
                r = http.client.HTTPResponse(s)
                r.begin()
                self.assertEqual((r.status, r.read()), (200, l.probe_body))
                answer = self.refuse(l, head + b'p' * (pad + 1) + b'\r\n\r\n')
                self.assertRefusal(l, answer, '431 Request Header Fields Too Large', TOO_BIG_HEADERS)
                # A request line that never ends is bounded the same.
                answer = self.refuse(l, b'GET /' + b'a' * HEADER_LIMIT)
                self.assertRefusal(l, answer, '431 Request Header Fields Too Large', TOO_BIG_HEADERS)

    def test_declared_body_over_the_bound_is_413_before_it_is_sent(self):
        for l in self.listeners:
            with self.subTest(l.name):
                s = self.connect(l)
                s.sendall(f'{l.body_path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
                          f'Content-Length: {l.body_limit + 1}\r\n\r\n'.encode())
                # No body byte is sent: the answer and the server's end of the connection come all the same.
                self.assertRefusal(l, read_to_eof(s), '413 Content Too Large', l.too_big_body())

    def test_endless_chunked_body_is_413_once_it_passes_the_bound(self):
        chunk = b'x' * 4096
        for l in self.listeners:
            with self.subTest(l.name):
                s = self.connect(l)
                s.sendall(f'{l.body_path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n'.encode())
                # A chunk a millisecond, until the answer can be read: it comes once the bound is passed (within a
                # chunk or three here; at most 200, less than the server reads and drops after its answer).
                sent, answered = 0, False
                for _ in range(l.body_limit // len(chunk) + 200):
                    answered = bool(select.select([s], [], [], 0.001)[0])
                    if answered:
                        break
                    s.sendall(b'1000\r\n' + chunk + b'\r\n')
                    sent += len(chunk)
                self.assertTrue(answered, f'no answer after {sent} bytes of body')
                self.assertGreater(sent, l.body_limit)
                answer = read_to_eof(s)
                self.assertRefusal(l, answer, '413 Content Too Large', l.too_big_body())

    def test_bytes_that_are_not_http_are_400(self):
        cases = (
            (client_hello(), b'bad request line: method'),
            (b'GET\r\n\r\n', b'bad request line: method'),
            (b'GET /healthz\r\n\r\n', b'bad request line: target'),
            (b'GET / HTTP/1\r\n\r\n', b'bad request line: HTTP version'),
            (b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', b'bad request line: HTTP version'),  # HTTP/2's preface
            (b'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nthis is not a header\r\n\r\n', b'bad header field name'),
            (b'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Bell: \x07\r\n\r\n', b'bad header field value'),
            (b'POST /api/v1/faults HTTP/1.1\r\nContent-Length: -1\r\n\r\n', b'bad Content-Length'),
            (b'POST /api/v1/faults HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
             b'bad Transfer-Encoding'),
            (b'POST /api/v1/faults HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nhello\r\n', b'bad chunked encoding'),
        )
        for l in self.listeners:
            for data, why in cases:
                with self.subTest(l.name, data=data[:40]):
                    answer = self.refuse(l, data)
                    self.assertRefusal(l, answer, '400 Bad Request', b'{"error":"%s"}' % why)

    def test_http_client_reads_the_answers(self):
        for l in self.listeners:
            with self.subTest(l.name):
                conn = http.client.HTTPConnection('127.0.0.1', l.port, timeout=HTTP_TIMEOUT)
                self.addCleanup(conn.close)
                conn.putrequest('GET', l.probe)
                conn.putheader('X-Pad', 'p' * HEADER_LIMIT)
                conn.endheaders()
                r = conn.getresponse()
                self.assertEqual((r.status, r.reason, r.getheader('Content-Type'), r.read()),
                                 (431, 'Request Header Fields Too Large', 'application/json', TOO_BIG_HEADERS))
                self.assertTrue(r.will_close)
        # A body one byte over the bound, sent whole before the answer is read (as http.client does).
        l = self.listeners[0]
        conn = http.client.HTTPConnection('127.0.0.1', l.port, timeout=HTTP_TIMEOUT)
        self.addCleanup(conn.close)
        method, path = l.body_path.split(' ')
        conn.request(method, path, body=b'[' + b' ' * (l.body_limit - 1) + b']')
        r = conn.getresponse()
        self.assertEqual((r.status, r.reason, r.read()), (413, 'Content Too Large', l.too_big_body()))
        self.assertTrue(r.will_close)
        self.assertProbe(l)

    def test_curl_reads_413(self):
        l = self.listeners[0]
        with tempfile.TemporaryDirectory() as tmp:
            body = os.path.join(tmp, 'body.json')
            with open(body, 'wb') as f:
                f.write(b'{"stage": "rcpt", "code": 451, "note": "' + b'n' * l.body_limit + b'"}')
            out = subprocess.run(['curl', '-sS', '--max-time', str(HTTP_TIMEOUT), '-D', '-', '-o',
                                  os.path.join(tmp, 'answer'), '-H', 'Content-Type: application/json',
                                  '--data-binary', f'@{body}', f'http://127.0.0.1:{l.port}/api/v1/faults'],
                                 capture_output=True, timeout=HTTP_TIMEOUT + 5)
            self.assertEqual(out.returncode, 0, out.stderr)
            with open(os.path.join(tmp, 'answer'), 'rb') as f:
                answer = f.read()
        head = out.stdout.decode('ascii').split('\r\n')
        self.assertEqual(head[0], 'HTTP/1.1 413 Content Too Large', out.stdout)
        self.assertIn('Connection: close', head, out.stdout)
        self.assertIn('Content-Type: application/json', head, out.stdout)
        self.assertEqual(answer, l.too_big_body())
        self.assertProbe(l)
        # Nothing of the refused body was taken: no rule was added.
        self.assertEqual(json.loads(http_request(l.port, 'GET', '/api/v1/faults').body)['faults'], [])
