"""Helpers for the tests of flows, the capture ring and the HTTP API: RFC 3339 timestamps, the shapes of the
API's answers, and FlowTest, a DaemonTest that sends mail over raw SMTP and reads the daemon's API with shape
checks. Standard library only; every request has a timeout."""
from __future__ import annotations

import calendar
import re
import threading
import time

from daemon_test import DaemonTest
from http_client import HTTP_TIMEOUT, Response, http_request, parse_prometheus, quote
from replies import HOST, QUEUED_RE
from smtp_client import Client

RFC3339_MS = re.compile(r'^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$')


def parse_ts(s: str) -> float:
    """RFC 3339 UTC with milliseconds (`2026-11-23T20:00:00.123Z`) to seconds since the epoch."""
    m = RFC3339_MS.match(s or '')
    if not m:
        raise AssertionError(f'not an RFC 3339 UTC time with milliseconds: {s!r}')
    y, mo, d, h, mi, sec, ms = (int(x) for x in m.groups())
    return calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0)) + ms / 1000


FLOW_KEYS = ('flow', 'seen', 'messages', 'recipients', 'bytes', 'refused', 'refused_by_code', 'faults',
             'first_seen', 'last_seen')
MESSAGE_KEYS = ('id', 'received_at', 'flow', 'mail_from', 'rcpt_to', 'size', 'subject', 'client', 'helo', 'tls',
                'truncated', 'from', 'attachments')
# What GET /api/v1/messages/{id} adds to MSG besides 'headers': the decoded message.
DETAIL_KEYS = ('to', 'cc', 'reply_to', 'date', 'message_id', 'text', 'html', 'parts')


class FlowTest(DaemonTest):
    """Starts daemons named mx.test, sends mail over raw SMTP, and reads the HTTP API with shape checks."""

    def begin(self, *args: str, **kw):
        return self.start('--hostname', HOST, *args, **kw)

    # ---- SMTP ----

    def smtp(self, d, helo: str = 'client.test') -> Client:
        """A raw session that has read the greeting and said EHLO `helo`."""
        return self.session(d, HOST, helo=helo)

    def deliver(self, d, msg: bytes, mail_from: str = 's@test', rcpts=('r@test',), helo: str = 'client.test',
                mail_params: str = '') -> None:
        """One connection, one accepted message, QUIT."""
        c = self.smtp(d, helo)
        self.assertRegex(self.transaction(c, msg, mail_from, rcpts, mail_params), QUEUED_RE)
        self.quit(c)

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
        self.assertIsInstance(f['faults'], dict, f)
        for what, n in f['faults'].items():
            self.assertRegex(what, r'^[a-z]+:([45]\d\d|delay|disconnect|silence)$', f)
            self.assertIsInstance(n, int, f)
            self.assertGreater(n, 0, f'a fault never injected is listed: {f}')
        if f['seen']:
            first, last = parse_ts(f['first_seen']), parse_ts(f['last_seen'])
            self.assertLessEqual(first, last, f)
            now = time.time()
            self.assertLess(abs(now - last), 300, f'last_seen far from now ({now}): {f}')
        else:
            self.assertEqual((f['first_seen'], f['last_seen']), (None, None), f)
            self.assertEqual((f['messages'], f['recipients'], f['bytes'], f['refused'], f['refused_by_code'],
                              f['faults']), (0, 0, 0, 0, {}, {}), f)

    def run_beside(self, senders, background, stop: threading.Event, timeout: float = 60) -> None:
        """Runs each callable of `senders` in a thread of its own beside `background`, which runs until `stop` is
        set; waits (bounded) for the senders, then sets `stop`, and fails if a thread hung."""
        threads = [threading.Thread(target=s) for s in senders]
        side = threading.Thread(target=background)
        side.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout)
        stop.set()
        side.join(20)
        self.assertFalse(any(t.is_alive() for t in threads + [side]), 'a sender or the background thread hung')

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
        for k in MESSAGE_KEYS + ('headers',) + DETAIL_KEYS:
            self.assertIn(k, m, m)
        self.assertEqual(m['id'], mid)
        return m

    def raw(self, d, mid: int) -> bytes:
        r = self.request(d, 'GET', f'/api/v1/messages/{mid}/raw')
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.content_type.startswith('message/rfc822'), r)
        return r.body
