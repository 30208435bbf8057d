"""The load generator's TLS session resumption (--tls-resume, --tls-version) against the real daemon: each
connection slot offers the session the server gave it last, so after the first full handshake every reconnection
resumes (TLS 1.3 tickets, TLS 1.2 tickets or session ids), exactly as many as the daemon counts; `off` makes
every handshake a full one. Traffic goes to 127.0.0.1 only; every run is bounded."""
from loadgen_support import LoadgenTest
from replies import HOST
from test_tls import scraped


class TestResume(LoadgenTest):
    def test_each_reconnection_resumes_in_every_version_and_mode(self):
        d = self.start('--hostname', HOST, '--threads', '2', '--smtps-listen', '127.0.0.1:0')
        smtps = self.smtps_port(d)
        cases = [  # (flags, port, resumed of 2 slots x 10 connections)
            (['--starttls'], d.port, 18),
            (['--tls'], smtps, 18),
            (['--starttls', '--tls-version', '1.3'], d.port, 18),
            (['--starttls', '--tls-version', '1.2'], d.port, 18),
            (['--tls', '--tls-version', '1.2', '--tls-resume', 'id'], smtps, 18),
            (['--starttls', '--tls-resume', 'off'], d.port, 0),
            (['--tls', '--tls-version', '1.2', '--tls-resume', 'off'], smtps, 0),
        ]
        resumed_total = 0
        for flags, port, resumed in cases:
            with self.subTest(flags=flags):
                r, _, _ = self.run_json(*self.target(d, port), *flags, '--pipelining', '--messages', 200,
                                        '--connections', 2, '--threads', 2, '--messages-per-connection', 10)
                self.assertEqual(r['accepted'], 200, r)
                self.assertEqual((r['connections'], r['tls_handshakes'], r['tls_resumed']), (20, 20, resumed), r)
                self.assertEqual(r['errors'], {'connect': 0, 'tls': 0, 'connection': 0, 'protocol': 0}, r)
                resumed_total += resumed
                self.assertEqual(scraped(d, 'tls_resumed_total'), resumed_total, 'the daemon counts the same')
        rc, out, _ = self.loadgen(*self.target(d), '--starttls', '--messages', 30, '--connections', 1,
                                  '--messages-per-connection', 10, '--quiet')
        self.assertEqual(rc, 0, out)
        self.assertIn('connections      3 (tls handshakes 3, resumed 2)\n', out)
        t = self.stop(d)
        self.assertEqual((t['tls_handshakes'], t['tls_resumed']), (7 * 20 + 3, resumed_total + 2))

    def test_messages_larger_than_a_record_and_the_socket_buffers(self):
        # A 16 KiB batch goes as one record; a 1 MiB body (64 records, more than the kernel's buffers take at once)
        # and the commands behind it go buffer by buffer, in order: every byte counted once by the daemon.
        d = self.start('--hostname', HOST, '--threads', '2', '--smtps-listen', '127.0.0.1:0')
        smtps = self.smtps_port(d)
        cases = [(['--starttls', '--pipelining'], d.port, 1 << 20, 24), (['--tls', '--bdat'], smtps, 1 << 20, 24),
                 (['--starttls', '--bdat'], d.port, 16 * 1024 - 100, 200), (['--tls'], smtps, 20000, 100)]
        messages = size_total = 0
        for flags, port, size, n in cases:
            with self.subTest(flags=flags, size=size):
                r, _, _ = self.run_json(*self.target(d, port), *flags, '--size', size, '--messages', n,
                                        '--connections', 3, '--threads', 2)
                self.assertEqual((r['accepted'], r['lost']), (n, 0), r)
                self.assertEqual(r['errors'], {'connect': 0, 'tls': 0, 'connection': 0, 'protocol': 0}, r)
                messages += n
                size_total += n * size
        t = self.stop(d)
        self.assertEqual((t['transactions'], t['bytes']), (messages, size_total))

    def test_bad_values(self):
        for args, word in ((['--tls-resume', 'yes'], '--tls-resume'), (['--tls-version', '1.1'], '--tls-version'),
                           (['--tls-resume', 'id'], '--tls-version 1.2'),
                           (['--tls-resume', 'id', '--tls-version', '1.3'], '--tls-version 1.2')):
            with self.subTest(args=args):
                rc, out, err = self.loadgen(*args)
                self.assertEqual((rc, out), (2, ''), err)
                self.assertEqual(len(err.splitlines()), 1, err)
                self.assertIn(word, err)
