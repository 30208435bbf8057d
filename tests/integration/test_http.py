"""The HTTP surface: listeners (--http-listen, logged once each), /healthz, errors as JSON (404, 405, 400), /metrics
in Prometheus text format with the documented names, its values against the final totals, the page at /, and a
pending wait answered 408 at SIGTERM."""
import http.client
import socket
import threading
import time

from api import FlowTest
from http_client import http_request, metric, metric_labels, parse_prometheus
from messages import flow_message
from parsers import parse_kv, stuff
from replies import BYE, DATA_GO, MAIL_OK, QUEUED_RE, RCPT_OK, TOO_MANY_RCPTS, UNKNOWN

ALWAYS = ('connections_total', 'connections_active', 'transactions_total', 'capture_messages', 'capture_bytes',
          'capture_evicted_total', 'flows_tracked', 'flows_overflow_total', 'smuggling_suspects_total',
          'connections_refused_total', 'tls_resumed_total', 'starttls_plaintext_dropped_bytes_total')
FAMILIES = ALWAYS + ('flow_messages_total', 'flow_recipients_total', 'flow_bytes_total', 'flow_refused_total',
                     'replies_total', 'tls_handshakes_total', 'tls_failed_total')


class TestListeners(FlowTest):
    def test_healthz(self):
        d = self.begin()
        r = self.request(d, 'GET', '/healthz')
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.content_type.startswith('application/json'), r)
        self.assertEqual(r.json(), {'status': 'ok'})

    def test_two_http_listeners_each_logged_once(self):
        d = self.begin(http=('127.0.0.1:0', '127.0.0.1:0'))
        self.assertEqual(len(d.http_endpoints), 2)
        lines = [parse_kv(l) for l in d.lines if parse_kv(l).get('proto') == 'http']
        self.assertEqual(len(lines), 2, d.lines)
        for (host, port), kv in zip(d.http_endpoints, lines):
            self.assertEqual((kv['level'], kv['msg'], kv['addr']),
                             ('info', f'listening http 127.0.0.1:{port}', f'127.0.0.1:{port}'))
            self.assertNotEqual(port, 0)
            self.assertEqual(http_request(port, 'GET', '/healthz').json(), {'status': 'ok'})
        self.assertNotEqual(d.http_endpoints[0][1], d.http_endpoints[1][1])
        # Both listeners see the same flows.
        self.deliver(d, flow_message('both', 'x'))
        for _, port in d.http_endpoints:
            self.assertEqual(http_request(port, 'GET', '/api/v1/flows/both').json()['messages'], 1)

    def test_keep_alive_connection_serves_many_requests(self):
        d = self.begin()
        conn = http.client.HTTPConnection('127.0.0.1', d.http_port, timeout=10)
        self.addCleanup(conn.close)
        for method, path, body, status in (('GET', '/healthz', None, 200), ('GET', '/nope', None, 404),
                                           ('POST', '/api/v1/flows', b'x' * 100, 405),
                                           ('GET', '/api/v1/messages?limit=abc', None, 400),
                                           ('GET', '/api/v1/flows', None, 200), ('GET', '/metrics', None, 200),
                                           ('DELETE', '/api/v1/messages', None, 200), ('GET', '/healthz', None, 200)):
            conn.request(method, path, body=body)
            r = conn.getresponse()
            data = r.read()
            self.assertEqual(r.status, status, f'{method} {path}: {data!r}')
            self.assertFalse(r.will_close, f'{method} {path}: the server closes a keep-alive connection')

    def test_http_port_in_use_cannot_start(self):
        s = socket.socket()
        self.addCleanup(s.close)
        s.bind(('127.0.0.1', 0))
        s.listen(1)
        self.assertExit2OneLine(['--smtp-listen', '127.0.0.1:0', '--http-listen', f'127.0.0.1:{s.getsockname()[1]}'],
                                'smtp-blackhole: cannot start: ', logs_allowed=True)

    def test_http_keeps_serving_during_smtp_sessions(self):
        d = self.begin()
        c = self.smtp(d)
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), RCPT_OK)
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        c.send(b'X-Flow: slow\r\nSubject: half')  # the session sits inside DATA
        self.assertEqual(self.get_json(d, '/healthz'), {'status': 'ok'})
        self.assertEqual(metric(self.metrics(d), 'smtp_blackhole_connections_active'), 1)
        self.assertFalse(self.flow(d, 'slow')['seen'])
        c.send(b'\r\n\r\nbody\r\n.\r\n')
        self.assertRegex(c.reply(), QUEUED_RE)
        self.assertEqual(self.flow(d, 'slow')['messages'], 1)


class TestShutdown(FlowTest):
    def test_sigterm_answers_a_pending_wait_at_once(self):
        d = self.begin()
        self.deliver(d, flow_message('w', 'one'))
        got = []
        t = threading.Thread(target=lambda: got.append(
            self.request(d, 'GET', '/api/v1/flows/w/wait?messages=5&timeout=60', timeout=30)), daemon=True)
        t.start()
        time.sleep(0.5)  # the wait is pending
        self.assertEqual(got, [])
        t0 = time.monotonic()
        totals = self.stop(d)
        t.join(10)
        self.assertEqual(len(got), 1, 'the pending wait got no answer')
        r = got[0]
        self.assertEqual(r.status, 408, r)
        self.assertLess(r.elapsed, 5, 'answered at its timeout, not at the shutdown')
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual((r.json()['flow'], r.json()['messages']), ('w', 1))
        self.assertEqual(totals['transactions'], 1)
        with self.assertRaises(OSError):
            http_request(d.http_port, 'GET', '/healthz', timeout=2)

    def test_page(self):
        d = self.begin()
        r = self.request(d, 'GET', '/')
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.content_type.startswith('text/html'), r)
        self.assertIn(b'<html', r.body.lower())
        self.assertEqual(r.headers.get('content-security-policy'),
                         "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
                         "img-src data:; frame-src 'self'; form-action 'none'")


class TestErrors(FlowTest):
    def test_unknown_paths_404(self):
        d = self.begin()
        for path in ('/nope', '/api', '/api/v1', '/api/v1/nope', '/api/v2/flows', '/healthz/more', '/metrics/more',
                     '/api/v1/flows/x/nope', '/api/v1/flows/x/wait/more', '/api/v1/messages/999999',
                     '/api/v1/messages/999999/raw', '/api/v1/messages/0', '/api/v1/messages/1/raw/more',
                     '/api/v1/messages/1/headers'):
            with self.subTest(path):
                self.assertError(self.request(d, 'GET', path), 404, path)
        for path in ('/api/v1/messages/abc', '/api/v1/messages/-1'):
            with self.subTest(path):
                r = self.request(d, 'GET', path)
                self.assertIn(r.status, (400, 404), r)
                self.assertError(r, r.status, path)

    def test_wrong_method_405(self):
        d = self.begin()
        self.deliver(d, flow_message('m', 's'))
        (m,) = self.captured(d, 1)
        mid = m['id']
        for method, path in (('POST', '/healthz'), ('DELETE', '/healthz'), ('PUT', '/healthz'), ('POST', '/metrics'),
                             ('DELETE', '/metrics'), ('PUT', '/api/v1/flows'), ('POST', '/api/v1/flows'),
                             ('POST', '/api/v1/flows/m'), ('PUT', '/api/v1/flows/m'),
                             ('POST', '/api/v1/flows/m/wait'), ('DELETE', '/api/v1/flows/m/wait'),
                             ('POST', '/api/v1/messages'), ('PUT', '/api/v1/messages'),
                             ('POST', f'/api/v1/messages/{mid}'), ('PUT', f'/api/v1/messages/{mid}/raw'),
                             ('POST', f'/api/v1/messages/{mid}/raw')):
            with self.subTest(f'{method} {path}'):
                self.assertError(self.request(d, method, path), 405, f'{method} {path}')
        # Nothing was changed by the refused requests.
        self.assertEqual(self.flow(d, 'm')['messages'], 1)
        self.assertEqual(len(self.messages(d)), 1)

    def test_bad_parameters_400(self):
        d = self.begin()
        paths = [f'/api/v1/messages?limit={v}' for v in ('abc', '-1', '1.5', '', '1001', '0x10')]
        paths += [f'/api/v1/flows/x/wait?messages={v}&timeout=5' for v in ('abc', '-1', '1.5', '')]
        paths += [f'/api/v1/flows/x/wait?messages=1&timeout={v}' for v in ('abc', '-1', 'nan', 'inf', '', '301',
                                                                          '1s')]
        for path in paths:
            with self.subTest(path):
                r = self.request(d, 'GET', path, timeout=5)
                self.assertError(r, 400, path)
                self.assertLess(r.elapsed, 2, f'{path}: a bad wait must be refused at once')

    def test_largest_values_are_accepted(self):
        d = self.begin()
        self.deliver(d, flow_message('ok', 's'))
        self.assertEqual(len(self.messages(d, 'limit=1000')), 1)
        self.assertEqual(len(self.messages(d, 'limit=1')), 1)
        r = self.request(d, 'GET', '/api/v1/flows/ok/wait?messages=1&timeout=300')
        self.assertEqual((r.status, r.json()['messages']), (200, 1))


class TestMetrics(FlowTest):
    def test_format_and_names_when_idle(self):
        d = self.begin()
        r = self.request(d, 'GET', '/metrics')
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.content_type.startswith('text/plain'), r)
        samples = parse_prometheus(r.body.decode('utf-8'))
        types = {l.split()[2]: l.split()[3] for l in r.body.decode().split('\n') if l.startswith('# TYPE ')}
        for name in FAMILIES:
            if name != 'tls_handshakes_total':
                self.assertIn(f'smtp_blackhole_{name}', types, f'no # TYPE line for smtp_blackhole_{name}')
        for name in ALWAYS:
            self.assertEqual(metric(samples, f'smtp_blackhole_{name}'), 0, name)
        for name, kind in types.items():
            self.assertTrue(name.startswith('smtp_blackhole_'), name)
            if name.endswith('_total'):
                self.assertEqual(kind, 'counter', name)
        for (name, labels), v in samples.items():
            self.assertTrue(name.startswith('smtp_blackhole_'), name)
            if name in ('smtp_blackhole_tls_handshakes_total', 'smtp_blackhole_tls_failed_total'):
                self.assertEqual(v, 0, 'no TLS yet')

    def test_values_match_the_final_totals(self):
        d = self.begin('--max-recipients', '1')
        c = self.smtp(d)
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<u+one@test>'), RCPT_OK)
        self.assertEqual(c.cmd('RCPT TO:<v@test>'), TOO_MANY_RCPTS)
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        m1 = flow_message(None, 'first', 400)
        c.send(stuff(m1) + b'.\r\n')
        self.assertRegex(c.reply(), QUEUED_RE)
        self.assertEqual(c.cmd('FROB'), UNKNOWN)
        # A smuggling suspect (bare LF dot LF inside the body).
        m2 = b'X-Flow: two\r\nSubject: s\r\n\r\nhello\n.\nmore\r\n'
        self.assertRegex(self.transaction(c, m2), QUEUED_RE)
        self.assertEqual(c.cmd('QUIT'), BYE)
        c.expect_closed()
        c.close()
        self.settle(d)
        other = self.smtp(d)  # one session open while scraping
        samples = self.metrics(d)
        self.assertEqual(metric(samples, 'smtp_blackhole_connections_active'), 1)
        self.quit(other)
        self.settle(d)
        samples2 = self.metrics(d)
        self.assertEqual(metric(samples2, 'smtp_blackhole_connections_active'), 0)
        t = self.stop(d)
        replies = {int(k): v for k, v in metric_labels(samples2, 'smtp_blackhole_replies_total', 'code').items()}
        self.assertEqual(replies, {int(k[len('replies_'):]): v for k, v in t.items() if k.startswith('replies_')})
        self.assertEqual(metric(samples2, 'smtp_blackhole_connections_total'), t['connections'])
        self.assertEqual(metric(samples2, 'smtp_blackhole_transactions_total'), t['transactions'])
        self.assertEqual(metric(samples2, 'smtp_blackhole_smuggling_suspects_total'), t['smuggling_suspects'])
        self.assertEqual((t['connections'], t['transactions'], t['smuggling_suspects'], t['refused']), (2, 2, 1, 2))
        self.assertEqual({k: v for k, v in metric_labels(samples2, 'smtp_blackhole_flow_bytes_total', 'flow').items()
                          if v}, {'one': float(len(m1)), 'two': float(len(m2))})
        self.assertEqual(metric(samples2, 'smtp_blackhole_flow_refused_total', flow='one', code='452'), 1)
        self.assertEqual(metric(samples2, 'smtp_blackhole_flow_recipients_total', flow='one'), 1)
        self.assertEqual(metric(samples2, 'smtp_blackhole_capture_messages'), 2)
        self.assertEqual(metric(samples2, 'smtp_blackhole_capture_bytes'), len(m1) + len(m2))

    def test_parser_rejects_garbage(self):
        # The test's own parser must be able to fail.
        for bad in ('smtp_blackhole_x 1', '# TYPE smtp_blackhole_x counter\nsmtp_blackhole_x{a="1" 1',
                    '# TYPE smtp_blackhole_x counter\nsmtp_blackhole_x one',
                    '# TYPE smtp_blackhole_x counter\nsmtp_blackhole_x 1\nsmtp_blackhole_x 2'):
            with self.subTest(bad):
                with self.assertRaises(AssertionError):
                    parse_prometheus(bad)
        ok = parse_prometheus('# HELP x y\n# TYPE x counter\nx{a="q\\"uote",b="2"} 3.5\nx 1 1700000000\n')
        self.assertEqual(metric(ok, 'x', a='q"uote', b='2'), 3.5)
        self.assertEqual(metric(ok, 'x'), 1)
