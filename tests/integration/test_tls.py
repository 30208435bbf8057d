"""TLS against the real daemon: STARTTLS and implicit TLS with openssl s_client, Python's ssl and smtplib;
certificate fingerprints against the logged ones; session resumption (TLS 1.2 and 1.3); the STARTTLS
plaintext-injection defence (CVE-2011-0411 class); SIGHUP reloads; bad certificate files at start;
--require-tls; and abuse (ClientHello on the plain port, plaintext on smtps, silent handshakes, garbage after
STARTTLS) that must cost only the one session. Every count is checked exactly against the final totals."""
import re
import signal
import smtplib
import ssl
import subprocess
import time

from http_client import http_request, metric, metric_labels, parse_prometheus
from messages import make_message
from parsers import parse_kv
from replies import HOST, NEED_HELO, NEED_MAIL, STARTTLS_READY, TLS_ACTIVE, TLS_REQUIRED, UNKNOWN, ehlo_reply, greeting
from tlsutil import (FP_RE, TlsTest, after_handshake, client_context, file_fingerprint, log_fingerprints, make_cert,
                     peer_fingerprint, pem_fingerprint, replace_file, s_client, s_client_fingerprint, server_pem, wrap,
                     write_file)

SELF_SIGNED = 'TLS with a self-signed certificate'
LOADED = 'TLS certificate loaded'
RELOADED = 'TLS certificate reloaded'
RELOAD_FAILED = 'TLS reload failed, keeping the old certificate'


def scraped(d, name: str) -> float | None:
    """One unlabelled sample of the daemon's /metrics, named without the smtp_blackhole_ prefix."""
    return metric(parse_prometheus(http_request(d.http_port, 'GET', '/metrics').body.decode()), f'smtp_blackhole_{name}')


def no_tls(**counts):
    base = dict(tls_handshakes=0, tls_failed=0, tls_resumed=0, starttls_plaintext_dropped=0)
    base.update(counts)
    return base


class TestOpensslClient(TlsTest):
    def test_starttls_fingerprint_matches_log_and_ehlo_drops_starttls(self):
        d = self.start_tls()
        fps = log_fingerprints(d.lines, SELF_SIGNED)
        self.assertEqual(len(fps), 1, d.lines)
        self.assertRegex(fps[0], FP_RE)
        line = parse_kv([l for l in d.lines if SELF_SIGNED in l][0])
        self.assertEqual(line['hostname'], HOST)
        self.assertEqual(line['level'], 'info')
        rc, out, err = s_client(d.port, stdin='EHLO client.test\nQUIT\n')
        self.assertEqual(pem_fingerprint(server_pem(out)), fps[0], out)
        self.assertIn('subject=CN = mx.test', out)
        # Over TLS: the EHLO reply without STARTTLS, then the 221, and nothing else.
        self.assertEqual(after_handshake(out), ehlo_reply(HOST, tls=True) + '\n221 2.0.0 Bye\n', out + err)
        t = self.stop(d)
        # s_client: greeting, its own EHLO (250), STARTTLS (220); ours over TLS: EHLO (250), QUIT (221).
        self.assertTotals(t, {220: 2, 250: 2, 221: 1}, connections=1, transactions=0, refused=0,
                          **no_tls(tls_handshakes=1))

    def test_smtps_s_client_greeting_after_handshake(self):
        d = self.start_tls()
        fp = log_fingerprints(d.lines, SELF_SIGNED)[0]
        rc, out, err = s_client(d.smtps_ports[0], starttls=False, stdin='EHLO client.test\nQUIT\n')
        self.assertEqual(pem_fingerprint(server_pem(out)), fp)
        self.assertEqual(after_handshake(out),
                         greeting() + '\n' + ehlo_reply(HOST, tls=True) + '\n221 2.0.0 Bye\n', out + err)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 1, 221: 1}, connections=1, transactions=0, refused=0,
                          **no_tls(tls_handshakes=1))

    def test_s_client_brief_reports_tls13(self):
        d = self.start_tls()
        rc, out, err = s_client(d.port, '-brief')
        self.assertIn('CONNECTION ESTABLISHED', err)
        self.assertIn('Protocol version: TLSv1.3', err)
        self.assertIn('Peer certificate: CN = mx.test', err)
        self.assertIn('221 2.0.0 Bye', out)
        t = self.stop(d)
        self.assertTotals(t, {220: 2, 250: 1, 221: 1}, connections=1, transactions=0, refused=0,
                          **no_tls(tls_handshakes=1))

    def resumption(self, version_flag: str, version: str, starttls: bool):
        d = self.start_tls()
        port = d.port if starttls else d.smtps_ports[0]
        sess = f'{self.tmp}/sess-{version_flag}'
        rc, out1, err1 = s_client(port, version_flag, '-sess_out', sess, starttls=starttls,
                                  stdin='EHLO client.test\nQUIT\n')
        self.assertRegex(out1, rf'\nNew, {version}, Cipher is ', out1 + err1)
        self.assertNotIn('Reused', out1)
        rc, out2, err2 = s_client(port, version_flag, '-sess_in', sess, starttls=starttls,
                                  stdin='EHLO client.test\nQUIT\n')
        self.assertRegex(out2, rf'\nReused, {version}, Cipher is ', out2 + err2)
        self.assertTrue(after_handshake(out2).endswith(ehlo_reply(HOST, tls=True) + '\n221 2.0.0 Bye\n'), out2)
        self.assertEqual(scraped(d, 'tls_resumed_total'), 1)
        t = self.stop(d)
        replies = {220: 4, 250: 4, 221: 2} if starttls else {220: 2, 250: 2, 221: 2}
        self.assertTotals(t, replies, connections=2, transactions=0, refused=0,
                          **no_tls(tls_handshakes=2, tls_resumed=1))

    def test_resumption_tls12_starttls(self):
        self.resumption('-tls1_2', 'TLSv1.2', True)

    def test_resumption_tls13_starttls(self):
        self.resumption('-tls1_3', 'TLSv1.3', True)

    def test_resumption_tls12_smtps(self):
        self.resumption('-tls1_2', 'TLSv1.2', False)

    def test_resumption_tls13_smtps(self):
        self.resumption('-tls1_3', 'TLSv1.3', False)


class TestHandshakeCounting(TlsTest):
    def test_client_hanging_up_after_its_tls13_handshake_is_not_a_failure(self):
        # openssl s_time -new closes as soon as its side of the handshake is done, before reading the session
        # tickets the server sends after it: those handshakes succeeded and must count as ok, not failed.
        d = self.start_tls()
        out = subprocess.run(['openssl', 's_time', '-connect', f'127.0.0.1:{d.smtps_ports[0]}', '-new', '-tls1_3',
                              '-time', '1'], capture_output=True, text=True, timeout=30).stdout
        m = re.search(r'(\d+) connections in [\d.]+ real seconds', out)
        self.assertIsNotNone(m, out)
        n = int(m.group(1))
        self.assertGreater(n, 0)
        t = self.stop(d)
        self.assertEqual((t['tls_handshakes'], t['tls_failed']), (n, 0), t)


class TestStarttlsProtocol(TlsTest):
    def test_injected_plaintext_after_starttls_is_dropped(self):
        d = self.start_tls()
        c = self.connect(d)
        self.assertEqual(c.reply(), greeting())
        self.assertEqual(c.ehlo(), ehlo_reply(HOST))
        injected = b'MAIL FROM:<evil@x>\r\n'
        c.send(b'STARTTLS\r\n' + injected)  # one send: the injected command arrives with STARTTLS
        self.assertEqual(c.reply(), STARTTLS_READY)
        c.expect_silence(0.3)  # nothing more in plaintext (no 250 for the injected MAIL)
        wrap(c)
        self.assertEqual(c.ehlo(), ehlo_reply(HOST, tls=True))
        self.assertEqual(c.cmd('RCPT TO:<r@test>'), NEED_MAIL)  # the injected MAIL was never executed
        msg = make_message('after-injection', 300)
        self.transaction(c, msg)
        self.quit(c)
        api = http_request(d.http_port, 'GET', '/api/v1/messages').json()['messages']
        self.assertEqual([m['mail_from'] for m in api], ['s@test'])
        self.assertEqual(scraped(d, 'starttls_plaintext_dropped_bytes_total'), len(injected))
        self.assertEqual(scraped(d, 'tls_resumed_total'), 0)
        t = self.stop(d)
        self.assertTotals(t, {220: 2, 250: 5, 354: 1, 503: 1, 221: 1}, connections=1, transactions=1,
                          recipients=1, bytes=len(msg),
                          **no_tls(tls_handshakes=1, starttls_plaintext_dropped=len(injected)))

    def test_injection_of_a_whole_transaction_is_dropped(self):
        d = self.start_tls()
        c = self.connect(d)
        self.assertEqual(c.reply(), greeting())
        injected = (b'EHLO evil\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\n'
                    b'Subject: injected\r\n\r\nevil\r\n.\r\nQUIT\r\n')
        c.send(b'EHLO client.test\r\nSTARTTLS\r\n' + injected)
        self.assertEqual(c.reply(), ehlo_reply(HOST))
        self.assertEqual(c.reply(), STARTTLS_READY)
        c.expect_silence(0.3)
        wrap(c)
        self.assertEqual(c.cmd('MAIL FROM:<s@test>'), NEED_HELO)  # no EHLO survived, injected or not
        self.quit(c)
        self.assertEqual(scraped(d, 'starttls_plaintext_dropped_bytes_total'), len(injected))
        t = self.stop(d)
        self.assertTotals(t, {220: 2, 250: 1, 503: 1, 221: 1}, connections=1, transactions=0, recipients=0,
                          **no_tls(tls_handshakes=1, starttls_plaintext_dropped=len(injected)))

    def test_state_forgotten_and_starttls_twice(self):
        d = self.start_tls()
        c = self.starttls(d, ehlo=False)
        self.assertEqual(c.cmd('MAIL FROM:<s@test>'), NEED_HELO)
        self.assertEqual(c.cmd('STARTTLS'), TLS_ACTIVE)
        self.assertEqual(c.ehlo(), ehlo_reply(HOST, tls=True))
        self.assertEqual(c.cmd('STARTTLS'), TLS_ACTIVE)
        msg = make_message('tls', 500)
        self.transaction(c, msg)
        self.quit(c)
        s = self.smtps(d.smtps_ports[0])
        self.assertEqual(s.cmd('STARTTLS'), TLS_ACTIVE)  # implicit TLS is TLS too
        self.transaction(s, msg)
        self.quit(s)
        t = self.stop(d)
        self.assertTotals(t, {220: 3, 250: 9, 354: 2, 503: 4, 221: 2}, connections=2, transactions=2,
                          recipients=2, bytes=2 * len(msg), **no_tls(tls_handshakes=2))

    def test_quit_over_tls_sends_close_notify(self):
        """RFC 8446 6.1 / RFC 5246 7.2.1: a TLS connection is closed with a close_notify alert; a TCP close
        without one is a truncation attack signal (Python raises SSLEOFError, openssl says unexpected eof)."""
        d = self.start_tls()
        c = self.starttls(d, ragged_eof_ok=False)
        self.assertEqual(c.cmd('QUIT'), '221 2.0.0 Bye')
        c.sock.settimeout(5)
        try:
            data = c.sock.recv(100)
        except ssl.SSLEOFError as e:
            self.fail(f'the daemon closed the TLS connection after QUIT without close_notify: {e}')
        self.assertEqual(data, b'')
        t = self.stop(d)
        self.assertTotals(t, {220: 2, 250: 2, 221: 1}, connections=1, **no_tls(tls_handshakes=1))


class TestSmtplibTls(TlsTest):
    def test_starttls_smtps_and_plain_capture_tls_field(self):
        d = self.start_tls()
        msgs = {k: make_message(k, 400 + 37 * i) for i, k in enumerate(('starttls', 'smtps12', 'plain'))}
        with smtplib.SMTP('127.0.0.1', d.port, local_hostname='client.test', timeout=10) as s:
            code, _ = s.starttls(context=client_context())
            self.assertEqual(code, 220)
            self.assertEqual(s.sendmail('s@test', ['r@test'], msgs['starttls']), {})
            info_starttls = f'{s.sock.version()} {s.sock.cipher()[0]}'
            self.assertEqual(s.quit()[0], 221)
        with smtplib.SMTP_SSL('127.0.0.1', d.smtps_ports[0], local_hostname='client.test', timeout=10,
                              context=client_context(ssl.TLSVersion.TLSv1_2)) as s:
            self.assertEqual(s.sendmail('s@test', ['r@test'], msgs['smtps12']), {})
            info_smtps = f'{s.sock.version()} {s.sock.cipher()[0]}'
            self.assertEqual(s.quit()[0], 221)
        with smtplib.SMTP('127.0.0.1', d.port, local_hostname='client.test', timeout=10) as s:
            self.assertEqual(s.sendmail('s@test', ['r@test'], msgs['plain']), {})
            self.assertEqual(s.quit()[0], 221)
        self.assertRegex(info_starttls, r'^TLSv1\.3 TLS_[A-Z0-9_]+$')
        self.assertRegex(info_smtps, r'^TLSv1\.2 [A-Z0-9-]+$')
        got = {m['subject']: m for m in http_request(d.http_port, 'GET', '/api/v1/messages').json()['messages']}
        self.assertEqual(set(got), set(msgs))
        for k, m in msgs.items():
            self.assertEqual(got[k]['size'], len(m))
            self.assertEqual(got[k]['helo'], 'client.test')
        t = self.stop(d)
        self.assertTotals(t, {220: 4, 250: 13, 354: 3, 221: 3}, connections=3, transactions=3, recipients=3,
                          bytes=sum(map(len, msgs.values())), refused=0, **no_tls(tls_handshakes=2))
        # The TLS version and cipher travel with each message ("VERSION CIPHER", null for plaintext).
        self.assertEqual({k: m['tls'] for k, m in got.items()},
                         {'starttls': info_starttls, 'smtps12': info_smtps, 'plain': None})

    def test_python_ssl_fingerprint_and_many_sessions(self):
        d = self.start_tls('--threads', '2')
        fp = log_fingerprints(d.lines, SELF_SIGNED)[0]
        msg = make_message('many', 1000)
        n = 6
        for i in range(n):
            c = self.starttls(d) if i % 2 == 0 else self.smtps(d.smtps_ports[0])
            self.assertEqual(peer_fingerprint(c), fp)
            self.transaction(c, msg)
            self.transaction(c, msg)
            self.quit(c)
        t = self.stop(d)
        # STARTTLS sessions: 220 x2, 250 x2 (EHLO) + 6; smtps: 220, 250 + 6; each: 354 x2, 221.
        self.assertTotals(t, {220: 3 * 2 + 3, 250: 3 * 8 + 3 * 7, 354: 2 * n, 221: n}, connections=n,
                          transactions=2 * n, recipients=2 * n, bytes=2 * n * len(msg),
                          **no_tls(tls_handshakes=n))


class TestReload(TlsTest):
    def test_sighup_self_signed_new_clients_see_new_certificate(self):
        d = self.start_tls()
        fp0 = log_fingerprints(d.lines, SELF_SIGNED)[0]
        old = self.starttls(d)  # opened before the reload; must go on with the old pair
        self.assertEqual(peer_fingerprint(old), fp0)
        self.assertEqual(s_client_fingerprint(d.port)[0], fp0)
        mark = len(d.lines)
        d.send_signal(signal.SIGHUP)
        kv = self.wait_log(d, RELOADED, mark)
        fp1 = kv['sha256']
        self.assertRegex(fp1, FP_RE)
        self.assertNotEqual(fp1, fp0)
        self.assertEqual(s_client_fingerprint(d.port)[0], fp1)
        self.assertEqual(s_client_fingerprint(d.smtps_ports[0], starttls=False)[0], fp1)
        new = self.smtps(d.smtps_ports[0])
        self.assertEqual(peer_fingerprint(new), fp1)
        msg = make_message('reload', 700)
        self.transaction(old, msg)  # the session from before the SIGHUP still works
        self.assertEqual(peer_fingerprint(old), fp0)
        self.quit(old)
        self.transaction(new, msg)
        self.quit(new)
        self.assertEqual(log_fingerprints(d.lines, RELOADED), [fp1])
        t = self.stop(d)
        # old: 220 x2, 250 x2 + 3, 354, 221; 2 s_client STARTTLS: 220 x2, 250 x1, 221 each; s_client smtps:
        # 220, 221; new: 220, 250 + 3, 354, 221.
        self.assertTotals(t, {220: 2 + 4 + 1 + 1, 250: 5 + 2 + 4, 354: 2, 221: 5}, connections=5, transactions=2,
                          recipients=2, bytes=2 * len(msg), **no_tls(tls_handshakes=5))

    def test_sighup_reloads_files_and_keeps_old_pair_when_bad(self):
        cert_a, key_a = make_cert(self.tmp, 'a')
        cert_b, key_b = make_cert(self.tmp, 'b')
        fp_a, fp_b = file_fingerprint(cert_a), file_fingerprint(cert_b)
        self.assertNotEqual(fp_a, fp_b)
        cert, key = f'{self.tmp}/cert.pem', f'{self.tmp}/key.pem'
        replace_file(cert_a, cert)
        replace_file(key_a, key)
        d = self.start_tls('--tls-cert', cert, '--tls-key', key)
        self.assertEqual(log_fingerprints(d.lines, LOADED), [fp_a])
        self.assertEqual(log_fingerprints(d.lines, SELF_SIGNED), [])
        self.assertEqual(s_client_fingerprint(d.port)[0], fp_a)
        old = self.smtps(d.smtps_ports[0])
        self.assertEqual(peer_fingerprint(old), fp_a)

        # A new good pair: new handshakes get it.
        replace_file(cert_b, cert)
        replace_file(key_b, key)
        mark = len(d.lines)
        d.send_signal(signal.SIGHUP)
        self.assertEqual(self.wait_log(d, RELOADED, mark)['sha256'], fp_b)
        self.assertEqual(s_client_fingerprint(d.port)[0], fp_b)

        # Garbage: the old (b) pair stays, an error is logged.
        write_file(cert, b'garbage\n')
        write_file(key, b'more garbage\n')
        mark = len(d.lines)
        d.send_signal(signal.SIGHUP)
        kv = self.wait_log(d, RELOAD_FAILED, mark)
        self.assertEqual(kv['level'], 'error')
        self.assertTrue(kv.get('error'), kv)
        self.assertEqual(s_client_fingerprint(d.port)[0], fp_b)
        self.assertEqual(s_client_fingerprint(d.smtps_ports[0], starttls=False)[0], fp_b)

        # A readable but mismatched pair (a's certificate, b's key): kept out too.
        replace_file(cert_a, cert)
        replace_file(key_b, key)
        mark = len(d.lines)
        d.send_signal(signal.SIGHUP)
        self.assertEqual(self.wait_log(d, RELOAD_FAILED, mark)['level'], 'error')
        self.assertEqual(s_client_fingerprint(d.port)[0], fp_b)
        self.assertEqual(log_fingerprints(d.lines, RELOADED), [fp_b])

        msg = make_message('old-session', 321)
        self.transaction(old, msg)  # opened before all three SIGHUPs
        self.assertEqual(peer_fingerprint(old), fp_a)
        self.quit(old)
        self.assertTrue(d.alive())
        t = self.stop(d)
        # 4 s_client STARTTLS (220 x2, 250, 221 each), 1 s_client smtps (220, 221), old (220, 250 + 3, 354, 221).
        self.assertTotals(t, {220: 8 + 1 + 1, 250: 4 + 4, 354: 1, 221: 6}, connections=6, transactions=1,
                          recipients=1, bytes=len(msg), **no_tls(tls_handshakes=6))


class TestCertificateFlags(TlsTest):
    def test_bad_certificate_files_fail_at_start(self):
        cert_a, key_a = make_cert(self.tmp, 'a')
        cert_b, key_b = make_cert(self.tmp, 'b')
        garbage = f'{self.tmp}/garbage.pem'
        write_file(garbage, b'-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n')
        base = ['--smtp-listen', '127.0.0.1:0', '--max-connections', '100']
        cases = {
            'missing cert': (['--tls-cert', f'{self.tmp}/nope.pem', '--tls-key', key_a], 'cannot start: '),
            'missing key': (['--tls-cert', cert_a, '--tls-key', f'{self.tmp}/nope.pem'], 'cannot start: '),
            'garbage cert': (['--tls-cert', garbage, '--tls-key', key_a], 'cannot start: '),
            'garbage key': (['--tls-cert', cert_a, '--tls-key', garbage], 'cannot start: '),
            'mismatched': (['--tls-cert', cert_a, '--tls-key', key_b], 'cannot start: '),
            'cert only': (['--tls-cert', cert_a], ''),
            'key only': (['--tls-key', key_a], ''),
        }
        for name, (args, prefix) in cases.items():
            with self.subTest(name):
                self.assertExit2OneLine(base + args, prefix='smtp-blackhole: ' + prefix)

    def test_good_files_are_served_on_both_ports(self):
        cert, key = make_cert(self.tmp, 'good', cn='files.test')
        fp = file_fingerprint(cert)
        d = self.start_tls('--tls-cert', cert, '--tls-key', key)
        self.assertEqual(log_fingerprints(d.lines, LOADED), [fp])
        c = self.starttls(d)
        self.assertEqual(peer_fingerprint(c), fp)
        s = self.smtps(d.smtps_ports[0])
        self.assertEqual(peer_fingerprint(s), fp)
        self.quit(c)
        self.quit(s)
        t = self.stop(d)
        self.assertTotals(t, {220: 3, 250: 3, 221: 2}, connections=2, **no_tls(tls_handshakes=2))


class TestRequireTls(TlsTest):
    def test_mail_and_auth_refused_before_starttls(self):
        d = self.start_tls('--require-tls', '--auth', 'any')
        c = self.connect(d)
        self.assertEqual(c.reply(), greeting())
        self.assertEqual(c.ehlo(), ehlo_reply(HOST))
        self.assertEqual(c.cmd('MAIL FROM:<s@test>'), TLS_REQUIRED)
        self.assertEqual(c.cmd('AUTH PLAIN AHUAcA=='), TLS_REQUIRED)
        self.assertEqual(c.cmd('RCPT TO:<r@test>'), NEED_MAIL)
        self.assertEqual(c.cmd('STARTTLS'), STARTTLS_READY)
        wrap(c)
        self.assertEqual(c.ehlo(), ehlo_reply(HOST, tls=True, auth=True))
        self.assertEqual(c.cmd('AUTH PLAIN AHUAcA=='), '235 2.7.0 Authentication successful')
        msg = make_message('required', 222)
        self.transaction(c, msg)
        self.quit(c)
        s = self.smtps(d.smtps_ports[0], auth=True)  # implicit TLS satisfies --require-tls
        self.transaction(s, msg)
        self.quit(s)
        t = self.stop(d)
        self.assertTotals(t, {220: 3, 250: 2 + 3 + 1 + 3, 235: 1, 354: 2, 503: 1, 530: 2, 221: 2},
                          connections=2, transactions=2, recipients=2, bytes=2 * len(msg),
                          **no_tls(tls_handshakes=2))

    def test_without_require_tls_plaintext_mail_is_fine(self):
        d = self.start_tls()
        c = self.session(d, HOST)
        msg = make_message('plain', 100)
        self.transaction(c, msg)
        self.quit(c)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 4, 354: 1, 221: 1}, connections=1, transactions=1, **no_tls())


class TestAbuse(TlsTest):
    def normal_plain(self, d, tag):
        c = self.session(d, HOST)
        msg = make_message(tag, 150)
        self.transaction(c, msg)
        self.quit(c)
        return len(msg)

    def assertClosedAfterHandshakeTimeout(self, c):
        """The server closes `c` after the 1 s --tls-handshake-timeout (not at once, not much later)."""
        t0 = time.monotonic()
        c.expect_closed(timeout=5)
        waited = time.monotonic() - t0
        self.assertGreaterEqual(waited, 0.9)
        self.assertLess(waited, 3.0)

    def test_clienthello_on_plain_port(self):
        d = self.start_tls()
        rc, out, err = s_client(d.port, starttls=False, stdin='', timeout=15)
        self.assertNotEqual(rc, 0, out + err)  # no TLS server there
        self.assertNotIn('BEGIN CERTIFICATE', out)
        size = self.normal_plain(d, 'after-hello')
        self.assertTrue(d.alive())
        t = self.stop(d)
        # The ClientHello's random bytes may hold LFs (command ends) and its length may pass 512: how many 500s
        # it earns is not fixed. Everything else is.
        n500 = t.get('replies_500', 0)
        replies = {220: 2, 250: 4, 354: 1, 221: 1}
        if n500:
            replies[500] = n500
        self.assertTotals(t, replies, connections=2, transactions=1, bytes=size, **no_tls())

    def test_fixed_clienthello_bytes_on_plain_port(self):
        d = self.start_tls()
        # A TLS 1.2 ClientHello record header and body start, with no CR or LF in it: one partial line.
        hello = bytes.fromhex('160301002f0100002b0303') + bytes(range(0x20, 0x40)) + bytes.fromhex('000002c02b0100')
        self.assertNotIn(b'\n', hello)
        c = self.connect(d)
        self.assertEqual(c.reply(), greeting())
        c.send(hello)
        c.expect_silence(0.3)
        c.send(b'\r\n')  # ends the binary "command"
        self.assertEqual(c.reply(), UNKNOWN)
        self.quit(c)
        size = self.normal_plain(d, 'after-bytes')
        t = self.stop(d)
        self.assertTotals(t, {220: 2, 250: 4, 354: 1, 500: 1, 221: 2}, connections=2, transactions=1,
                          bytes=size, **no_tls())

    def test_plaintext_on_smtps_port(self):
        d = self.start_tls()
        c = self.connect(d.smtps_ports[0])
        c.send(b'EHLO x\r\n')
        # The server answers with at most a TLS alert, then closes.
        got = b''.join(c.read_to_close(5, 'smtps port did not close after plaintext'))
        self.assertNotIn(b'220', got)
        self.assertTrue(got == b'' or got[0] == 0x15, f'not a TLS alert: {got!r}')
        c.close()
        s = self.smtps(d.smtps_ports[0])
        s.close()
        size = self.normal_plain(d, 'after-plain-on-smtps')
        self.settle(d)
        m = metric_labels(parse_prometheus(http_request(d.http_port, 'GET', '/metrics').body.decode()),
                          'smtp_blackhole_tls_handshakes_total', 'result')
        self.assertEqual(m, {'ok': 1.0, 'failed': 1.0})
        t = self.stop(d)
        self.assertTotals(t, {220: 2, 250: 5, 354: 1, 221: 1}, connections=3, transactions=1, bytes=size,
                          **no_tls(tls_handshakes=1, tls_failed=1))

    def test_silent_client_on_smtps_closed_after_handshake_timeout(self):
        d = self.start_tls('--tls-handshake-timeout', '1s')
        c = self.connect(d.smtps_ports[0])
        self.assertClosedAfterHandshakeTimeout(c)
        size = self.normal_plain(d, 'after-silence')
        s = self.smtps(d.smtps_ports[0])
        self.quit(s)
        t = self.stop(d)
        self.assertTotals(t, {220: 2, 250: 5, 354: 1, 221: 2}, connections=3, transactions=1, bytes=size,
                          **no_tls(tls_handshakes=1, tls_failed=1))

    def test_silent_client_after_starttls_closed_after_handshake_timeout(self):
        d = self.start_tls('--tls-handshake-timeout', '1s')
        c = self.connect(d)
        self.assertEqual(c.reply(), greeting())
        self.assertEqual(c.ehlo(), ehlo_reply(HOST))
        self.assertEqual(c.cmd('STARTTLS'), STARTTLS_READY)
        self.assertClosedAfterHandshakeTimeout(c)
        size = self.normal_plain(d, 'after-silence')
        t = self.stop(d)
        self.assertTotals(t, {220: 3, 250: 5, 354: 1, 221: 1}, connections=2, transactions=1, bytes=size,
                          **no_tls(tls_failed=1))

    def test_garbage_after_starttls(self):
        d = self.start_tls()
        c = self.connect(d)
        self.assertEqual(c.reply(), greeting())
        self.assertEqual(c.ehlo(), ehlo_reply(HOST))
        self.assertEqual(c.cmd('STARTTLS'), STARTTLS_READY)
        c.send(b'this is not a ClientHello\r\nMAIL FROM:<x@y>\r\n')  # sent after the 220: handshake input
        for chunk in c.read_to_close(5, 'not closed after a garbage handshake'):
            self.assertEqual(chunk[0], 0x15, f'not a TLS alert: {chunk!r}')
        c.close()
        size = self.normal_plain(d, 'after-garbage')
        t = self.stop(d)
        self.assertTotals(t, {220: 3, 250: 5, 354: 1, 221: 1}, connections=2, transactions=1, bytes=size,
                          **no_tls(tls_failed=1))

    def test_all_abuse_together_then_metrics(self):
        d = self.start_tls('--tls-handshake-timeout', '1s')
        silent = self.connect(d.smtps_ports[0])
        plain_on_tls = self.connect(d.smtps_ports[0])
        plain_on_tls.send(b'EHLO x\r\n')
        rc, out, err = s_client(d.port, starttls=False, stdin='', timeout=15)
        self.assertNotEqual(rc, 0)
        good = self.smtps(d.smtps_ports[0])
        msg = make_message('survivor', 999)
        self.transaction(good, msg)
        silent.expect_closed(timeout=5)
        self.quit(good)
        plain_on_tls.close()
        self.settle(d)
        m = metric_labels(parse_prometheus(http_request(d.http_port, 'GET', '/metrics').body.decode()),
                          'smtp_blackhole_tls_handshakes_total', 'result')
        self.assertEqual(m, {'ok': 1.0, 'failed': 2.0})
        t = self.stop(d)
        n500 = t.get('replies_500', 0)
        replies = {220: 2, 250: 4, 354: 1, 221: 1}
        if n500:
            replies[500] = n500
        self.assertTotals(t, replies, connections=4, transactions=1, bytes=len(msg),
                          **no_tls(tls_handshakes=1, tls_failed=2))
