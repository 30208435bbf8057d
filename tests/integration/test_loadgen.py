"""The bundled load generator (build/loadgen/smtp-blackhole-loadgen) against the real daemon on free ports: its
counts agree with the daemon's final totals and with --verify, --rate holds, --duration stops in time, refusals
are reported by code, and the TLS (STARTTLS, implicit) and AUTH modes work. Traffic goes to 127.0.0.1 only;
every run is bounded by a timeout."""
import http.server
import json
import os
import re
import socket
import tempfile
import threading

from loadgen_support import LoadgenTest
from http_client import http_request
from replies import HOST


class TestLoadgen(LoadgenTest):
    def test_counts_agree_with_totals_and_verify(self):
        d = self.start('--hostname', HOST, '--threads', '2')
        n, size = 3000, 2000
        r, err, _ = self.run_json(*self.target(d), '--pipelining', '--messages', n, '--connections', 8, '--threads', 2,
                                  '--flows', 4, '--recipients', 2, '--size', size, *self.verify(d), '--reset')
        self.assertEqual((r['sent'], r['accepted'], r['refused'], r['lost']), (n, n, 0, 0), r)
        self.assertEqual(r['verify'], {'ok': True, 'differences': []})
        self.assertEqual(r['flows'], {f'load-{i}': n // 4 for i in range(4)})
        self.assertEqual(r['latency_ms']['transaction']['count'], n)
        lat = r['latency_ms']['transaction']
        self.assertTrue(lat['min'] <= lat['p50'] <= lat['p90'] <= lat['p99'] <= lat['p99.9'] <= lat['max'], lat)
        t = self.stop(d)
        self.assertEqual(t['transactions'], n)
        self.assertEqual(t['recipients'], 2 * n)
        self.assertEqual(t['bytes'], n * size)  # the message is padded to exactly --size
        self.assertEqual(t['connections'], r['connections'])
        self.assertEqual(t['connections'], 8)
        self.assertEqual(t['refused'], 0)

    def test_bdat_with_new_connections_every_k_messages(self):
        d = self.start('--hostname', HOST, '--threads', '2')
        r, _, _ = self.run_json(*self.target(d), '--bdat', '--messages', 500, '--messages-per-connection', 10,
                                '--connections', 5, '--threads', 2, '--flow', 'bdat-test', *self.verify(d), '--reset')
        self.assertEqual(r['accepted'], 500)
        # At most 10 per connection; each thread's connections share its messages, so a few end short of 10.
        self.assertGreaterEqual(r['connections'], 50)
        self.assertLessEqual(r['connections'], 55)
        self.assertEqual(r['verify']['ok'], True)
        t = self.stop(d)
        self.assertEqual((t['transactions'], t['connections'], t['replies_221']), (500, r['connections'], r['connections']))
        self.assertEqual(t['bytes'], 500 * 1024)

    def test_pipelining_with_new_connections_every_k_messages(self):
        # The next envelope rides behind the body; it must never pass the per-connection limit.
        d = self.start('--hostname', HOST, '--threads', '1')
        r, _, _ = self.run_json(*self.target(d), '--pipelining', '--messages', 300, '--messages-per-connection', 7,
                                '--connections', 3, '--threads', 1, '--flows', 2, *self.verify(d), '--reset')
        self.assertEqual((r['accepted'], r['lost']), (300, 0))
        self.assertGreaterEqual(r['connections'], 43)  # ceil(300 / 7)
        self.assertLessEqual(r['connections'], 46)
        self.assertEqual(r['verify']['ok'], True)
        t = self.stop(d)
        self.assertEqual((t['transactions'], t['connections'], t['replies_221']), (300, r['connections'], r['connections']))
        self.assertEqual(t['replies_354'], 300)

    def test_lockstep_over_two_sinks_with_verify(self):
        a = self.start('--hostname', HOST, '--threads', '1')
        b = self.start('--hostname', HOST, '--threads', '1')
        r, _, _ = self.run_json(*self.target(a), *self.target(b), '--messages', 400, '--connections', 4, '--flows', 3,
                                *self.verify(a), *self.verify(b), '--reset', '--recipients', 3)
        self.assertEqual(r['accepted'], 400)
        self.assertEqual(r['verify']['ok'], True)
        ta, tb = self.stop(a), self.stop(b)
        self.assertEqual(ta['transactions'] + tb['transactions'], 400)
        self.assertGreater(ta['transactions'], 0)
        self.assertGreater(tb['transactions'], 0)
        self.assertEqual(ta['recipients'] + tb['recipients'], 1200)

    def test_verify_reports_every_difference_and_exits_1(self):
        d = self.start('--hostname', HOST, '--threads', '1')
        c = self.session(d)  # one extra message in flow load-0, sent before the run and not reset
        for line, code in (('MAIL FROM:<x@test>', '250'), ('RCPT TO:<y@test>', '250'), ('DATA', '354')):
            self.assertTrue(c.cmd(line).startswith(code))
        self.assertTrue(c.cmd('X-Flow: load-0\r\n\r\nhello\r\n.').startswith('250'))
        self.quit(c)
        rc, out, err = self.loadgen(*self.target(d), '--messages', 100, '--flows', 2, *self.verify(d), '--quiet')
        self.assertEqual(rc, 1, out + err)
        self.assertIn('flow load-0: generator got 250 for 50, sinks counted 51', err)
        self.assertNotIn('flow load-1', err)
        self.assertIn('verify           FAILED', out)
        # --reset first: exact again.
        r, _, _ = self.run_json(*self.target(d), '--messages', 100, '--flows', 2, *self.verify(d), '--reset')
        self.assertEqual(r['verify']['ok'], True)

    def test_verify_compares_counts_as_exact_integers(self):
        """Counts past 2**53 (where a double loses the last digit) are read and compared exactly."""
        body = json.dumps({'flows': [{'flow': 'odd', 'messages': 2**53 + 1}, {'flow': 'big', 'messages': 2**64 - 1}],
                           'overflow': 0}).encode()

        class Flows(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.HTTPServer(('127.0.0.1', 0), Flows)
        self.addCleanup(server.server_close)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.shutdown)
        d = self.start('--hostname', HOST, '--threads', '1')
        rc, out, err = self.loadgen(*self.target(d), '--messages', 1, '--flow', 'odd', '--quiet',
                                    '--verify', f'http://127.0.0.1:{server.server_address[1]}')
        self.assertEqual(rc, 1, out + err)
        self.assertIn(f'flow odd: generator got 250 for 1, sinks counted {2**53 + 1}', err)
        self.assertIn(f'flow big: generator got 250 for 0, sinks counted {2**64 - 1}', err)

    def test_rate_holds_within_5_percent(self):
        d = self.start('--hostname', HOST, '--threads', '1')
        rate, seconds = 400, 5
        r, err, elapsed = self.run_json(*self.target(d), '--rate', rate, '--duration', seconds, '--connections', 10,
                                        '--threads', 2, '--pipelining', *self.verify(d), '--reset')
        expected = rate * seconds
        self.assertLessEqual(abs(r['accepted'] - expected), expected * 0.05, r)
        self.assertEqual(r['sent'], r['accepted'])
        self.assertEqual(r['verify']['ok'], True)
        self.assertLess(elapsed, seconds + 2.5)
        progress = [l for l in err.splitlines() if l.startswith('progress ')]
        self.assertGreaterEqual(len(progress), seconds - 1, err)
        per_second = [float(re.search(r'msgs_per_s=(\d+)', l).group(1)) for l in progress[1:seconds - 1]]
        for v in per_second:
            self.assertLess(abs(v - rate), rate * 0.1, progress)
        t = self.stop(d)
        self.assertEqual(t['transactions'], r['accepted'])

    def test_duration_stops_in_time(self):
        d = self.start('--hostname', HOST, '--threads', '1')
        r, err, elapsed = self.run_json(*self.target(d), '--duration', 2, '--connections', 6, '--threads', 1, '--bdat')
        self.assertGreater(r['accepted'], 0)
        self.assertEqual(r['lost'], 0)
        self.assertGreaterEqual(elapsed, 1.9)
        self.assertLess(elapsed, 3.5, f'{elapsed}s for --duration 2')
        self.assertGreaterEqual(r['elapsed_s'], 2.0)
        # Its own CPU: some (it sent messages for 2 s), and no more than its one thread can use in the wall time
        # it reports plus its set-up.
        self.assertGreater(r['cpu_s'], 0.0)
        self.assertLessEqual(r['cpu_s'], r['elapsed_s'] + 0.5)
        t = self.stop(d)
        self.assertEqual(t['transactions'], r['accepted'])

    def test_duration_stops_in_time_against_a_silent_server(self):
        # A listener that accepts and never answers: the run still ends at --duration plus the 2 s grace,
        # and every connection still waiting is an error (exit 1), not a clean run.
        silent = socket.create_server(('127.0.0.1', 0))
        self.addCleanup(silent.close)
        port = silent.getsockname()[1]
        r, _, elapsed = self.run_json('--target', f'127.0.0.1:{port}', '--duration', 1, '--connections', 3,
                                      '--threads', 1, expect_rc=1)
        self.assertLess(elapsed, 4.5)
        self.assertEqual(r['errors']['connection'], 3)
        self.assertEqual(r['sent'], 0)
        self.assertIn('end of --duration', r['first_error'])

    def test_duration_bounds_a_message_count_too(self):
        d = self.start('--hostname', HOST, '--threads', '1')
        r, _, elapsed = self.run_json(*self.target(d), '--duration', 1, '--messages', 10**9, '--rate', 100,
                                      '--connections', 2)
        self.assertLess(elapsed, 3.0)
        self.assertLessEqual(abs(r['accepted'] - 100), 10, r)
        self.stop(d)

    def test_refusals_reported_by_code_in_every_mode(self):
        d = self.start('--hostname', HOST, '--threads', '1', '--max-message-size', '2K')
        for mode in ([], ['--pipelining'], ['--bdat']):
            with self.subTest(mode=mode):
                r, err, _ = self.run_json(*self.target(d), *mode, '--size', '4K', '--messages', 20, '--connections', 2,
                                          '--max-error-rate', '1')
                self.assertEqual((r['sent'], r['accepted'], r['refused'], r['lost']), (20, 0, 20, 0), r)
                self.assertEqual(r['refused_by_code'], {'552': 20})
                # Without --max-error-rate, refusals are errors: exit 1 with the reason.
                rc, out, err = self.loadgen(*self.target(d), *mode, '--size', '4K', '--messages', 5, '--quiet')
                self.assertEqual(rc, 1, out + err)
                self.assertIn('refused          5 552=5', out)
                # Mixed: small messages pass, on the same connections.
                r, _, _ = self.run_json(*self.target(d), *mode, '--size', '1K', '--messages', 20, '--connections', 2)
                self.assertEqual(r['accepted'], 20)
        t = self.stop(d)
        self.assertEqual(t['transactions'], 60)
        self.assertEqual(t['replies_552'], 3 * 25)  # SIZE= over the limit: refused at MAIL in every mode

    def test_random_451_at_rcpt_counted_by_code_within_max_error_rate_and_verified(self):
        d = self.start('--hostname', HOST, '--threads', '2', '--fault-seed', '7',
                       '--fault', 'stage=rcpt,code=451,probability=0.1')
        for mode in ([], ['--pipelining'], ['--bdat']):
            with self.subTest(mode=mode):
                r, _, _ = self.run_json(*self.target(d), *mode, '--messages', 1000, '--connections', 4, '--threads', 2,
                                        '--flows', 3, '--max-error-rate', '0.15', *self.verify(d), '--reset')
                self.assertEqual(r['verify'], {'ok': True, 'differences': []})
                self.assertEqual((r['sent'], r['lost'], r['accepted'] + r['refused']), (1000, 0, 1000), r)
                self.assertEqual(list(r['refused_by_code']), ['451'], r)
                self.assertEqual(r['refused_by_code']['451'], r['refused'])
                self.assertTrue(40 < r['refused'] < 160, r)  # about 100: 10% of one recipient each
                self.assertEqual(sum(r['flows'].values()), r['accepted'])
                # At rcpt the X-Flow header is not read yet: the sink counts each refusal under _default.
                f = json.loads(http_request(d.http_port, 'GET', '/api/v1/flows/_default').body)
                self.assertEqual((f['refused_by_code'], f['faults']), ({'451': r['refused']}, {'rcpt:451': r['refused']}))
        # Two recipients: a message loses one now and then and goes to the other; only both refused refuse it.
        r, _, _ = self.run_json(*self.target(d), '--pipelining', '--recipients', 2, '--messages', 1000,
                                '--connections', 4, '--flows', 2, '--max-error-rate', '0.15', *self.verify(d), '--reset')
        self.assertEqual(r['verify']['ok'], True)
        self.assertTrue(0 < r['refused'] < 30, r)  # about 10 (1%)
        # 10% refused is past --max-error-rate 0.05: exit 1, with the refusals in the report.
        rc, out, err = self.loadgen(*self.target(d), '--messages', 500, '--max-error-rate', '0.05', '--quiet')
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(out, r'refused +\d+ 451=\d+')
        self.stop(d)

    def test_starttls_with_auth_any(self):
        d = self.start('--hostname', HOST, '--threads', '2', '--auth', 'any')
        r, _, _ = self.run_json(*self.target(d), '--starttls', '--auth', 'user:pw', '--pipelining', '--messages', 300,
                                '--connections', 4, '--threads', 2, *self.verify(d), '--reset')
        self.assertEqual(r['accepted'], 300)
        self.assertEqual(r['tls_handshakes'], 4)
        self.assertEqual(r['latency_ms']['tls']['count'], 4)
        self.assertEqual(r['verify']['ok'], True)
        t = self.stop(d)
        self.assertEqual((t['transactions'], t['tls_handshakes'], t['replies_235']), (300, 4, 4))

    def test_implicit_tls_with_auth_users(self):
        with tempfile.NamedTemporaryFile('w', suffix='.users', delete=False) as f:
            f.write('# test users\nalice:s3cret\n')
        self.addCleanup(os.unlink, f.name)
        d = self.start('--hostname', HOST, '--threads', '1', '--smtps-listen', '127.0.0.1:0', '--auth-users', f.name)
        port = self.smtps_port(d)
        r, _, _ = self.run_json(*self.target(d, port), '--tls', '--auth', 'alice:s3cret', '--bdat', '--messages', 200,
                                '--connections', 2, '--messages-per-connection', 50)
        self.assertEqual(r['accepted'], 200)
        self.assertEqual((r['connections'], r['tls_handshakes']), (4, 4))
        # A wrong password: every connection fails at AUTH, reported with the server's reply, exit 1.
        r, _, _ = self.run_json(*self.target(d, port), '--tls', '--auth', 'alice:wrong', '--messages', 10,
                                '--connections', 2, expect_rc=1)
        self.assertEqual(r['accepted'], 0)
        self.assertEqual(r['errors']['protocol'], 2)
        self.assertIn('535', r['first_error'])
        # STARTTLS against a plaintext port with AUTH (offered only after TLS).
        r, _, _ = self.run_json(*self.target(d), '--starttls', '--auth', 'alice:s3cret', '--messages', 20)
        self.assertEqual(r['accepted'], 20)
        t = self.stop(d)
        self.assertEqual(t['transactions'], 220)

    def test_tls_to_a_plaintext_port_is_a_tls_error(self):
        d = self.start('--hostname', HOST, '--threads', '1')
        r, _, _ = self.run_json(*self.target(d), '--tls', '--messages', 5, '--connections', 1, '--timeout', 5,
                                expect_rc=1)
        self.assertEqual(r['errors']['tls'], 1)
        self.assertEqual(r['accepted'], 0)
        self.stop(d)

    def test_bad_usage_is_one_line_and_exit_2(self):
        for args in (['--connections', '0'], ['--target', 'nohostport'], ['--target', '127.0.0.1:99999'],
                     ['--size', '12Q'], ['--rate', '-1'], ['--tls', '--starttls'], ['--auth', 'nopass'],
                     ['--flows', '2', '--flow', 'x'], ['--verify', 'ftp://x'], ['--reset'], ['--bogus'],
                     ['--messages', 'abc'], ['--max-error-rate', '2'], ['--duration', '0']):
            with self.subTest(args=args):
                rc, out, err = self.loadgen(*args, timeout=10)
                self.assertEqual(rc, 2, f'{args}: {out!r} {err!r}')
                self.assertEqual(out, '')
                self.assertEqual(err.count('\n'), 1, err)
                self.assertTrue(err.startswith('smtp-blackhole-loadgen: '), err)
        rc, out, _ = self.loadgen('--help', timeout=10)
        self.assertEqual(rc, 0)
        self.assertIn('--pipelining', out)
