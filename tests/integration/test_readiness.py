"""/livez and /readyz for supervisors and load balancers: ready while accepting; from SIGTERM on, /readyz answers
503 while open sessions finish (so a load balancer stops sending before connections close), /livez and /healthz
still 200, on the main API and on the Mailpit-compatible one; the HTTP listeners close with the last session."""
import json
import signal
import socket
import time

from api import FlowTest
from daemon import listen_endpoints
from http_client import http_request
from replies import BYE, DATA_GO, MAIL_OK, QUEUED_RE, RCPT_OK

READY = (200, {'status': 'ready'})
DRAINING = (503, {'status': 'draining'})


class TestReadiness(FlowTest):
    def probe(self, port: int, path: str):
        r = http_request(port, 'GET', path)
        self.assertEqual(r.content_type, 'application/json', r)
        return r.status, json.loads(r.body)

    def test_readyz_answers_503_from_sigterm_until_the_last_session_ends(self):
        d = self.begin('--threads', '2', '--drain-timeout', '10s', '--mailpit-listen', '127.0.0.1:0')
        mailpit = listen_endpoints(d.lines, 'mailpit')[0][1]
        for path in ('/livez', '/healthz'):
            self.assertEqual(self.probe(d.http_port, path), (200, {'status': 'ok'}), path)
        self.assertEqual(self.probe(d.http_port, '/readyz'), READY)
        self.assertEqual(http_request(mailpit, 'GET', '/readyz').status, 200)
        busy = self.smtp(d)
        self.assertEqual(busy.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(busy.cmd('RCPT TO:<r@test>'), RCPT_OK)
        d.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while self.probe(d.http_port, '/readyz') != DRAINING and time.monotonic() < deadline:
            time.sleep(0.02)
        # Draining: not ready, still alive, no new SMTP connection; the open transaction goes on.
        self.assertEqual(self.probe(d.http_port, '/readyz'), DRAINING)
        for path in ('/livez', '/healthz'):
            self.assertEqual(self.probe(d.http_port, path), (200, {'status': 'ok'}), path)
        r = http_request(mailpit, 'GET', '/readyz')
        self.assertEqual((r.status, r.body), (503, b'draining'))
        self.assertEqual(http_request(mailpit, 'GET', '/livez').status, 200)
        self.assertEqual(self.flow(d, '_default')['messages'], 0)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(('127.0.0.1', d.port), timeout=2).close()
        self.assertEqual(busy.cmd('DATA'), DATA_GO)
        busy.send(b'Subject: during the drain\r\n\r\nbody\r\n.\r\n')
        self.assertRegex(busy.reply(), QUEUED_RE)
        self.expect_shutdown(busy)
        # The last session is gone: the daemon exits and its HTTP listeners with it.
        s = d.wait(8)
        self.assertEqual(s.returncode, 0, s.lines)
        self.assertEqual(s.totals['transactions'], 1)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(('127.0.0.1', d.http_port), timeout=2).close()

    def test_an_idle_daemon_stops_at_once(self):
        d = self.begin('--drain-timeout', '10s')
        c = self.smtp(d)
        self.assertEqual(c.cmd('QUIT'), BYE)
        c.close()
        t0 = time.monotonic()
        d.send_signal(signal.SIGTERM)
        s = d.wait(5)
        self.assertEqual(s.returncode, 0, s.lines)
        self.assertLess(time.monotonic() - t0, 3, 'no session held the drain, so HTTP did not either')
