"""Descriptor exhaustion: a daemon with a small RLIMIT_NOFILE flooded with connections on its SMTP, HTTP API or
Mailpit API port uses every descriptor, pauses accepting without burning CPU (one `accept paused` line per
episode, not one per pause), keeps serving the connections it has (SMTP and HTTP keep-alive alike), and once the
flood closes accepts everything queued on every listener again: exhaustion caused by one listener does not wedge
another, since the descriptors belong to the process."""
import http.client
import json
import os
import resource
import socket
import threading
import time

from api import FlowTest
from http_client import HTTP_TIMEOUT
from parsers import parse_kv
from replies import HOST, NOOP_OK, QUEUED_RE, ehlo_reply, greeting
from sanitizers import scaled

NOFILE = 40  # the daemon's descriptor limit, soft and hard (it cannot raise it)
FLOOD = 60  # connections per flood: more than NOFILE, and few enough for the listen backlog
LIVEZ = (200, b'{"status":"ok"}')
NO_FLOWS = {'flows': [], 'overflow': 0}
MESSAGE = b'Subject: x\r\n\r\nbody\r\n'


def _limit_descriptors():
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


class KeepAlive:
    """One HTTP/1.1 connection to 127.0.0.1:port that stays open between requests."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection('127.0.0.1', port, timeout=HTTP_TIMEOUT)

    def get(self, path: str) -> tuple[int, bytes]:
        self.conn.request('GET', path)
        r = self.conn.getresponse()
        return r.status, r.read()

    def close(self):
        self.conn.close()


class Pending(threading.Thread):
    """A call started while the daemon cannot accept: it waits in the kernel's backlog; join() gives its result."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.result, self.error = fn, None, None
        self.start()

    def run(self):
        try:
            self.result = self.fn()
        except Exception as e:  # reported by outcome()
            self.error = e

    def outcome(self, timeout: float):
        self.join(timeout)
        if self.is_alive():
            raise AssertionError(f'no answer within {timeout}s after the flood closed')
        if self.error is not None:
            raise self.error
        return self.result


class ExhaustionTest(FlowTest):
    def begin_limited(self, *args: str):
        d = self.begin('--threads', '1', *args, preexec_fn=_limit_descriptors)
        d.mailpit = [p for l in d.lines for p in [parse_kv(l)] if p.get('msg', '').startswith('listening mailpit')]
        return d

    def fd_count(self, pid: int) -> int:
        return len(os.listdir(f'/proc/{pid}/fd'))

    def flood(self, d, port: int) -> list[socket.socket]:
        """FLOOD connections to port (each completes in the kernel's backlog even when the daemon cannot accept);
        returns once every descriptor of the daemon is in use (bounded wait)."""
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        for _ in range(FLOOD):
            socks.append(socket.create_connection(('127.0.0.1', port), timeout=5))
        deadline = time.monotonic() + scaled(5)
        while self.fd_count(d.pid) < NOFILE:
            self.assertLess(time.monotonic(), deadline, f'fd count stuck at {self.fd_count(d.pid)}')
            time.sleep(0.02)
        return socks

    def assertIdleWhileSaturated(self, d):
        """Alive, and well under a third of a CPU used in one second without a descriptor."""
        self.assertTrue(d.alive())
        cpu0 = d.cpu_seconds()
        time.sleep(1.0)  # the measurement window, not a synchronisation
        used = d.cpu_seconds() - cpu0
        self.assertTrue(d.alive())
        self.assertLess(used, 0.3, f'daemon burnt {used:.2f}s of CPU in 1s while out of descriptors')
        self.assertEqual(self.fd_count(d.pid), NOFILE)

    def pause_lines(self, d, msg: str, proto: str) -> list[dict]:
        return [kv for kv in map(parse_kv, d.lines) if kv.get('msg') == msg and kv.get('proto') == proto]

    def assertPausedOnce(self, d, proto: str, port: int):
        """One warning for the whole episode (about ten pauses by now), naming the listener."""
        lines = self.pause_lines(d, 'accept paused', proto)
        self.assertEqual([(l['level'], l['addr'], l['worker'], l['error']) for l in lines],
                         [('warn', f'127.0.0.1:{port}', '0', 'Too many open files')], d.lines)

    def assertResumed(self, d, proto: str, port: int):
        d.wait_until(lambda _: self.pause_lines(d, 'accept resumed', proto), scaled(5), f'accept resumed {proto}')
        first = self.pause_lines(d, 'accept resumed', proto)[0]
        self.assertEqual((first['level'], first['addr']), ('info', f'127.0.0.1:{port}'), first)
        self.assertGreaterEqual(int(first['pauses']), 2, first)

    def assertHttpServes(self, d):
        """New connections to the HTTP API are answered (each waits its turn in the backlog, bounded)."""
        r = self.request(d, 'GET', '/livez')
        self.assertEqual((r.status, r.body), LIVEZ)
        self.assertEqual(self.get_json(d, '/api/v1/flows'), NO_FLOWS)

    def transaction_on_new_session(self, d) -> int:
        """A new SMTP session delivers one message and quits; returns its size."""
        c = self.connect(d, timeout=scaled(10))
        self.assertEqual(c.reply(), greeting())
        self.assertEqual(c.ehlo(), ehlo_reply(HOST))
        self.assertRegex(self.transaction(c, MESSAGE), QUEUED_RE)
        self.quit(c)
        return len(MESSAGE)

    def assertDelivered(self, d, n: int, replies: dict, connections: int):
        flows, overflow = self.flows(d)
        self.assertEqual(({k: self.counts(f) for k, f in flows.items()}, overflow), ({'_default': (1, 1, n)}, 0))
        t = self.stop(d)
        self.assertTotals(t, replies, connections=connections, connections_refused=0, transactions=1,
                          recipients=1, bytes=n, refused=0)

    def saturate(self, d, proto: str, flood_port: int, keep_port: int, keep_livez) -> tuple:
        """An EHLO'd SMTP session and an HTTP connection to keep_port kept alive, then a flood of flood_port until no
        descriptor is left: the daemon idles, says so once, and still serves both. Returns (session, keep, flood)."""
        first = self.session(d)
        keep = KeepAlive(keep_port)
        self.addCleanup(keep.close)
        self.assertEqual(keep.get('/livez'), keep_livez)
        flood = self.flood(d, flood_port)
        self.assertIdleWhileSaturated(d)
        self.assertPausedOnce(d, proto, flood_port)
        self.assertEqual(first.cmd('NOOP'), NOOP_OK)
        self.assertEqual(keep.get('/livez'), keep_livez)
        return first, keep, flood

    def behind_flood(self, flood: list[socket.socket], fn):
        """Calls fn (a new connection's exchange) while every descriptor is in use: it must still wait after 0.3 s
        (the daemon cannot accept it); then closes the flood and returns fn's result (bounded wait)."""
        waiting = Pending(fn)
        time.sleep(0.3)
        self.assertTrue(waiting.is_alive(), 'answered while every descriptor was in use')
        for s in flood:
            s.close()
        return waiting.outcome(scaled(20))

    def end(self, d, first, keep, n: int, replies: dict, connections: int):
        self.quit(first)
        keep.close()
        self.assertDelivered(d, n, replies, connections)


class TestSmtpFlood(ExhaustionTest):
    def test_descriptor_exhaustion(self):
        d = self.begin_limited()
        first, keep, flood = self.saturate(d, 'smtp', d.port, d.http_port, LIVEZ)
        self.assertEqual(keep.get('/api/v1/flows'), (200, b'{"flows":[],"overflow":0}'))
        # A new HTTP connection waits in the backlog while SMTP holds every descriptor, and is answered once the
        # flood is gone; everything queued is accepted (and closed) in order.
        r = self.behind_flood(flood, lambda: self.request(d, 'GET', '/api/v1/flows', timeout=scaled(20)))
        self.assertEqual((r.status, r.json()), (200, NO_FLOWS))
        self.assertHttpServes(d)
        n = self.transaction_on_new_session(d)
        self.assertResumed(d, 'smtp', d.port)
        self.end(d, first, keep, n, {220: FLOOD + 2, 250: 2 + 4, 354: 1, 221: 2}, connections=FLOOD + 2)


class TestHttpFlood(ExhaustionTest):
    def test_http_api_flood(self):
        d = self.begin_limited()
        first, keep, flood = self.saturate(d, 'http', d.http_port, d.http_port, LIVEZ)
        self.assertEqual(keep.get('/api/v1/flows'), (200, b'{"flows":[],"overflow":0}'))
        # A new SMTP connection waits in the backlog while HTTP holds every descriptor, and is greeted once the
        # flood is gone.
        waiting = self.connect(d, timeout=scaled(20))
        self.assertEqual(self.behind_flood(flood, waiting.reply), greeting())
        self.assertEqual(waiting.ehlo(), ehlo_reply(HOST))
        self.assertRegex(self.transaction(waiting, MESSAGE), QUEUED_RE)
        self.quit(waiting)
        self.assertResumed(d, 'http', d.http_port)
        self.assertEqual(keep.get('/livez'), LIVEZ)
        r = self.request(d, 'GET', '/livez')
        self.assertEqual((r.status, r.body), LIVEZ)
        self.end(d, first, keep, len(MESSAGE), {220: 2, 250: 2 + 4, 354: 1, 221: 2}, connections=2)

    def test_mailpit_api_flood(self):
        d = self.begin_limited('--mailpit-listen', '127.0.0.1:0')
        self.assertEqual(len(d.mailpit), 1, d.lines)
        mp_port = int(d.mailpit[0]['addr'].rsplit(':', 1)[1])
        first, keep, flood = self.saturate(d, 'mailpit', mp_port, mp_port, (200, b''))
        status, body = keep.get('/api/v1/messages')
        self.assertEqual((status, json.loads(body)['total']), (200, 0), body)
        # The main API's new connections wait as well, and are answered once the Mailpit flood is gone.
        r = self.behind_flood(flood, lambda: self.request(d, 'GET', '/livez', timeout=scaled(20)))
        self.assertEqual((r.status, r.body), LIVEZ)
        n = self.transaction_on_new_session(d)
        self.assertResumed(d, 'mailpit', mp_port)
        conn = KeepAlive(mp_port)  # a new connection to the Mailpit port
        self.addCleanup(conn.close)
        self.assertEqual(conn.get('/livez'), (200, b''))
        status, body = conn.get('/api/v1/messages')
        self.assertEqual((status, json.loads(body)['total'], len(json.loads(body)['messages'])), (200, 1, 1), body)
        conn.close()
        self.end(d, first, keep, n, {220: 2, 250: 2 + 4, 354: 1, 221: 2}, connections=2)
