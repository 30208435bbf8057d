"""Helpers for the tests of flows, the capture ring and the HTTP API: a small HTTP client (http.client), a
Prometheus text-format parser, RFC 3339 timestamps, dot-stuffing, and FlowTest, a DaemonTest that sends mail
over raw SMTP and reads the daemon's API. Standard library only; every request has a timeout."""
from __future__ import annotations

import calendar
import http.client
import json
import re
import time
import urllib.parse

from daemon import BYE, DATA_GO, MAIL_OK, QUEUED_RE, RCPT_OK, Client, DaemonTest

HOST = 'mx.test'
HTTP_TIMEOUT = 10.0  # seconds for one HTTP exchange (wait requests add their own timeout)


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes, elapsed: float):
        self.status = status
        self.headers = headers  # lower-cased names
        self.body = body
        self.elapsed = elapsed

    @property
    def content_type(self) -> str:
        return self.headers.get('content-type', '')

    def json(self):
        try:
            return json.loads(self.body.decode('utf-8'))
        except (UnicodeDecodeError, ValueError) as e:
            raise AssertionError(f'not JSON ({e}): status {self.status}, body {self.body[:500]!r}')

    def __repr__(self):
        return f'<HTTP {self.status} {self.content_type} {self.body[:300]!r}>'


def http_request(port: int, method: str, path: str, body: bytes | None = None,
                 timeout: float = HTTP_TIMEOUT) -> Response:
    """One request on a fresh connection to 127.0.0.1:port; returns the whole response."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    t0 = time.monotonic()
    try:
        conn.request(method, path, body=body)
        r = conn.getresponse()
        data = r.read()
        headers = {k.lower(): v for k, v in r.getheaders()}
        return Response(r.status, headers, data, time.monotonic() - t0)
    finally:
        conn.close()


def quote(name: str | bytes) -> str:
    """A flow name as one percent-encoded path segment or query value."""
    return urllib.parse.quote(name, safe='')


# ---- Prometheus text format (version 0.0.4) ----

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+-?\d+)?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')


def _unescape_label(v: str) -> str:
    return re.sub(r'\\(.)', lambda m: {'n': '\n', '\\': '\\', '"': '"'}.get(m.group(1), '\\' + m.group(1)), v)


def parse_prometheus(text: str) -> dict[tuple[str, frozenset], float]:
    """Parses `name{label="value",...} value [timestamp]` lines (skipping blank lines and `#` comments) into
    {(name, frozenset(labels.items())): value}. Raises AssertionError on any line that does not parse, on a
    duplicated sample, and on a sample whose family has a # TYPE line elsewhere than before it."""
    out: dict[tuple[str, frozenset], float] = {}
    types: dict[str, str] = {}
    for n, line in enumerate(text.split('\n'), 1):
        if not line.strip():
            continue
        if line.startswith('#'):
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] == 'TYPE':
                if parts[3] not in ('counter', 'gauge', 'histogram', 'summary', 'untyped'):
                    raise AssertionError(f'line {n}: bad TYPE {line!r}')
                if parts[2] in types:
                    raise AssertionError(f'line {n}: second TYPE line for {parts[2]}')
                types[parts[2]] = parts[3]
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise AssertionError(f'line {n}: not a Prometheus sample: {line!r}')
        name, labels_text, value = m.groups()
        labels = {}
        if labels_text:
            pos = 0
            while pos < len(labels_text):
                lm = _LABEL.match(labels_text, pos)
                if not lm or lm.end() == pos:
                    raise AssertionError(f'line {n}: bad labels {labels_text!r}')
                if lm.group(1) in labels:
                    raise AssertionError(f'line {n}: label {lm.group(1)} twice')
                labels[lm.group(1)] = _unescape_label(lm.group(2))
                pos = lm.end()
        try:
            v = float(value)
        except ValueError:
            raise AssertionError(f'line {n}: bad value {value!r}')
        key = (name, frozenset(labels.items()))
        if key in out:
            raise AssertionError(f'line {n}: duplicated sample {line!r}')
        family = re.sub(r'_(bucket|sum|count)$', '', name)
        if name not in types and family not in types:
            raise AssertionError(f'line {n}: sample {name} without a # TYPE line before it')
        out[key] = v
    return out


def metric(samples, name: str, **labels) -> float | None:
    """The value of one sample (None if absent)."""
    return samples.get((name, frozenset(labels.items())))


def metric_labels(samples, name: str, label: str) -> dict[str, float]:
    """{label value: sample value} over every sample of `name` that has `label`."""
    out = {}
    for (n, ls), v in samples.items():
        if n == name:
            d = dict(ls)
            if label in d:
                out[d[label]] = v
    return out


# ---- timestamps ----

RFC3339_MS = re.compile(r'^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$')


def parse_ts(s: str) -> float:
    """RFC 3339 UTC with milliseconds (`2026-11-23T20:00:00.123Z`) to seconds since the epoch."""
    m = RFC3339_MS.match(s or '')
    if not m:
        raise AssertionError(f'not an RFC 3339 UTC time with milliseconds: {s!r}')
    y, mo, d, h, mi, sec, ms = (int(x) for x in m.groups())
    return calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0)) + ms / 1000


def stuff(msg: bytes) -> bytes:
    """RFC 5321 4.5.2 dot-stuffing of a CRLF message (inverse of daemon.unstuff)."""
    return b'\r\n'.join(b'.' + l if l.startswith(b'.') else l for l in msg.split(b'\r\n'))


def flow_message(flow: str | None, subject: str, size: int = 0, extra: bytes = b'') -> bytes:
    """A CRLF message with an X-Flow header (unless flow is None), a Subject, `extra` header lines, and a body
    padded (with some dot-leading lines) to exactly `size` octets when size is larger than the headers."""
    head = b''
    if flow is not None:
        head += b'X-Flow: ' + flow.encode() + b'\r\n'
    head += b'Subject: ' + subject.encode() + b'\r\n' + extra + b'\r\n'
    body = b'hello\r\n'
    i = 0
    while len(head) + len(body) < size:
        room = size - len(head) - len(body)
        line = (b'.' if i % 4 == 0 else b'') + b'line %d ' % i + b'z' * 40
        if room < len(line) + 2 + 4:  # the last line fills the size exactly
            if room < 2:
                raise ValueError(f'cannot pad to exactly {size} octets')
            line = b'x' * (room - 2)
        body += line + b'\r\n'
        i += 1
    return head + body


FLOW_KEYS = ('flow', 'seen', 'messages', 'recipients', 'bytes', 'refused', 'refused_by_code', 'first_seen',
             'last_seen')
MESSAGE_KEYS = ('id', 'received_at', 'flow', 'mail_from', 'rcpt_to', 'size', 'subject', 'client', 'helo', 'tls',
                'truncated')


class FlowTest(DaemonTest):
    """Starts daemons named mx.test, sends mail over raw SMTP, and reads the HTTP API with shape checks."""

    def begin(self, *args: str, **kw):
        return self.start('--hostname', HOST, *args, **kw)

    # ---- SMTP ----

    def smtp(self, d, helo: str = 'client.test') -> Client:
        """A raw session that has read the greeting and said EHLO `helo`."""
        c = self.connect(d)
        self.assertEqual(c.reply(), f'220 {HOST} ESMTP smtp-blackhole')
        got = c.ehlo(helo)
        self.assertTrue(got.startswith(f'250-{HOST}\n'), got)
        return c

    def transaction(self, c: Client, msg: bytes, mail_from: str = 's@test', rcpts=('r@test',),
                    mail_params: str = '') -> str:
        """MAIL, RCPT..., DATA and the dot-stuffed CRLF message in lock-step; checks every intermediate reply
        and returns the reply to the end of data."""
        params = f' {mail_params}' if mail_params else ''
        self.assertEqual(c.cmd(f'MAIL FROM:<{mail_from}>{params}'), MAIL_OK)
        for r in rcpts:
            self.assertEqual(c.cmd(f'RCPT TO:<{r}>'), RCPT_OK)
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        self.assertTrue(msg.endswith(b'\r\n'), 'messages end with CRLF')
        c.send(stuff(msg) + b'.\r\n')
        return c.reply()

    def deliver(self, d, msg: bytes, mail_from: str = 's@test', rcpts=('r@test',), helo: str = 'client.test',
                mail_params: str = '') -> None:
        """One connection, one accepted message, QUIT."""
        c = self.smtp(d, helo)
        self.assertRegex(self.transaction(c, msg, mail_from, rcpts, mail_params), QUEUED_RE)
        self.assertEqual(c.cmd('QUIT'), BYE)
        c.expect_closed()
        c.close()

    # ---- HTTP ----

    def request(self, d, method: str, path: str, timeout: float = HTTP_TIMEOUT) -> Response:
        return http_request(d.http_port, method, path, timeout=timeout)

    def get_json(self, d, path: str, status: int = 200, method: str = 'GET'):
        r = self.request(d, method, path)
        self.assertEqual(r.status, status, f'{method} {path}: {r}')
        self.assertTrue(r.content_type.startswith('application/json'), f'{method} {path}: {r}')
        return r.json()

    def assertError(self, r: Response, status: int, what: str) -> None:
        """An error answer: this status, a JSON object with a non-empty string `error`."""
        self.assertEqual(r.status, status, f'{what}: {r}')
        self.assertTrue(r.content_type.startswith('application/json'), f'{what}: {r}')
        body = r.json()
        self.assertIsInstance(body, dict, f'{what}: {r}')
        self.assertIsInstance(body.get('error'), str, f'{what}: {r}')
        self.assertTrue(body['error'], f'{what}: {r}')

    def assertFlowShape(self, f: dict, name: str) -> None:
        self.assertEqual(sorted(f), sorted(FLOW_KEYS), f'keys of {f}')
        self.assertEqual(f['flow'], name, f)
        for k in ('messages', 'recipients', 'bytes', 'refused'):
            self.assertIsInstance(f[k], int, f'{k} in {f}')
        self.assertIsInstance(f['refused_by_code'], dict, f)
        self.assertEqual(f['refused'], sum(f['refused_by_code'].values()), f'refused vs refused_by_code: {f}')
        for code, n in f['refused_by_code'].items():
            self.assertRegex(code, r'^[45]\d\d$', f)
            self.assertIsInstance(n, int, f)
            self.assertGreater(n, 0, f'a code with no refusals is listed: {f}')
        if f['seen']:
            first, last = parse_ts(f['first_seen']), parse_ts(f['last_seen'])
            self.assertLessEqual(first, last, f)
            now = time.time()
            self.assertLess(abs(now - last), 300, f'last_seen far from now ({now}): {f}')
        else:
            self.assertEqual((f['first_seen'], f['last_seen']), (None, None), f)
            self.assertEqual((f['messages'], f['recipients'], f['bytes'], f['refused'], f['refused_by_code']),
                             (0, 0, 0, 0, {}), f)

    def flows(self, d) -> tuple[dict[str, dict], int]:
        """GET /api/v1/flows: ({name: flow}, overflow), with the list's shape and order checked."""
        body = self.get_json(d, '/api/v1/flows')
        self.assertEqual(sorted(body), ['flows', 'overflow'], body)
        names = [f['flow'] for f in body['flows']]
        self.assertEqual(names, sorted(names), 'flows sorted by name')
        self.assertEqual(len(names), len(set(names)), f'a flow listed twice: {names}')
        for f in body['flows']:
            self.assertFlowShape(f, f['flow'])
            self.assertTrue(f['seen'], f'an unseen flow is listed: {f}')
        return {f['flow']: f for f in body['flows']}, body['overflow']

    def flow(self, d, name: str) -> dict:
        """GET /api/v1/flows/{name} (percent-encoded)."""
        f = self.get_json(d, f'/api/v1/flows/{quote(name)}')
        self.assertFlowShape(f, name)
        return f

    def counts(self, f: dict) -> tuple[int, int, int]:
        return f['messages'], f['recipients'], f['bytes']

    def metrics(self, d):
        r = self.request(d, 'GET', '/metrics')
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.content_type.startswith('text/plain'), r)
        return parse_prometheus(r.body.decode('utf-8'))

    def messages(self, d, query: str = '') -> list[dict]:
        """GET /api/v1/messages[?query]: the list, with every entry's shape checked."""
        body = self.get_json(d, '/api/v1/messages' + (f'?{query}' if query else ''))
        self.assertEqual(list(body), ['messages'], body)
        for m in body['messages']:
            for k in MESSAGE_KEYS:
                self.assertIn(k, m, m)
            parse_ts(m['received_at'])
            self.assertIsInstance(m['id'], int, m)
            self.assertIsInstance(m['rcpt_to'], list, m)
            self.assertIsInstance(m['truncated'], bool, m)
        ids = [m['id'] for m in body['messages']]
        self.assertEqual(ids, sorted(ids, reverse=True), 'newest (highest id) first')
        self.assertEqual(len(ids), len(set(ids)), ids)
        return body['messages']

    def captured(self, d, n: int, query: str = '', timeout: float = 2.0) -> list[dict]:
        """The message list once it holds at least n entries (bounded wait: capture may trail the 250 a little);
        the caller checks the exact count."""
        deadline = time.monotonic() + timeout
        while True:
            ms = self.messages(d, query)
            if len(ms) >= n or time.monotonic() >= deadline:
                return ms
            time.sleep(0.05)

    def message(self, d, mid: int) -> dict:
        m = self.get_json(d, f'/api/v1/messages/{mid}')
        for k in MESSAGE_KEYS + ('headers',):
            self.assertIn(k, m, m)
        self.assertEqual(m['id'], mid)
        return m

    def raw(self, d, mid: int) -> bytes:
        r = self.request(d, 'GET', f'/api/v1/messages/{mid}/raw')
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.content_type.startswith('message/rfc822'), r)
        return r.body
