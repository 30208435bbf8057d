"""AUTH (RFC 4954) against the real daemon: swaks (--tls STARTTLS and --tlsc implicit TLS) and Python's
smtplib with PLAIN, LOGIN and CRAM-MD5 against --auth-users FILE and --auth any; every reply of the
exchange by hand over a raw TLS socket (cancel, bad base64, unknown mechanism, twice, inside a transaction,
538 over plaintext, 502 when not configured, --auth-insecure); and the `auth-user` flow extractor. Counts are
checked exactly against the final totals."""
import base64
import hashlib
import hmac
import smtplib
import subprocess

from http_client import http_request, quote
from messages import make_message
from replies import (AUTH_ALREADY, AUTH_BAD_BASE64, AUTH_BAD_MECH, AUTH_CANCELLED, AUTH_FAILED, AUTH_IN_TRANSACTION,
                     AUTH_NEEDS_TLS, AUTH_OK, BYE, HOST, MAIL_OK, NOT_IMPLEMENTED, RSET_OK, ehlo_reply, greeting)
from tlsutil import SWAKS, TlsTest, client_context, swaks_message_sizes, swaks_reply_codes

USERS = '# test users\nalice:s3cret\n\nbob:hunter2\n'
SWAKS_AUTH_FAILED = 28  # swaks' exit code for a failed AUTH


def b64(s) -> str:
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def plain(user: str, password: str, authzid: str = '') -> str:
    return b64(f'{authzid}\0{user}\0{password}')


def cram_response(challenge_b64: str, user: str, password: str) -> str:
    challenge = base64.b64decode(challenge_b64, validate=True)
    return b64(f'{user} ' + hmac.new(password.encode(), challenge, hashlib.md5).hexdigest())


def add(total: dict[int, int], more: dict[int, int]) -> None:
    for k, v in more.items():
        total[k] = total.get(k, 0) + v


def no_tls(**counts):
    base = dict(tls_failed=0, tls_resumed=0, starttls_plaintext_dropped=0)
    base.update(counts)
    return base


class AuthTest(TlsTest):
    def swaks(self, port, *args, expect_rc=0):
        argv = [SWAKS, '--server', f'127.0.0.1:{port}', '--helo', 'client.test', '--from', 's@test',
                '--to', 'r@test', '--timeout', '10'] + list(args)
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        out = p.stdout.decode('utf-8', 'replace') + p.stderr.decode('utf-8', 'replace')
        self.assertEqual(p.returncode, expect_rc, f'swaks {args}: exit code; output:\n{out}')
        return out

    def smtplib_starttls(self, d, user=None, password=None, mechs=None):
        """smtplib: STARTTLS, EHLO, and login() with only `mechs` (a space-separated list) left offered."""
        s = smtplib.SMTP('127.0.0.1', d.port, local_hostname='client.test', timeout=10)
        self.addCleanup(s.close)
        self.assertEqual(s.starttls(context=client_context())[0], 220)
        self.assertEqual(s.ehlo()[0], 250)
        self.assertEqual(s.esmtp_features.get('auth'), ' PLAIN LOGIN CRAM-MD5')
        if mechs is not None:
            s.esmtp_features['auth'] = mechs
        return s


class TestSwaksAuth(AuthTest):
    def test_auth_users_file_all_mechanisms_both_tls_modes(self):
        users = self.users_file(USERS)
        d = self.start_tls('--auth-users', users)
        expected: dict[int, int] = {}
        sizes = []
        runs = 0
        for mode, port in (('--tls', d.port), ('--tlsc', d.smtps_ports[0])):
            for mech in ('PLAIN', 'LOGIN', 'CRAM-MD5'):
                for password, ok in (('s3cret', True), ('wrong', False)):
                    with self.subTest(mode=mode, mech=mech, ok=ok):
                        out = self.swaks(port, mode, '--auth', mech, '--auth-user', 'alice', '--auth-password',
                                         password, expect_rc=0 if ok else SWAKS_AUTH_FAILED)
                        runs += 1
                        self.assertIn(' ~> AUTH ' + mech, out)
                        if ok:
                            self.assertIn('<~  235 2.7.0 Authentication successful\n', out)
                            self.assertRegex(out, r'<~  250 2\.0\.0 Ok: queued as \d+\.1\n')
                        else:
                            self.assertIn('<~* 535 5.7.8 Authentication credentials invalid\n', out)
                            self.assertNotIn('MAIL FROM', out)
                        self.assertIn('<~  221 2.0.0 Bye', out)
                        add(expected, swaks_reply_codes(out))
                        sizes += swaks_message_sizes(out)
        self.assertEqual(runs, 12)
        self.assertEqual(len(sizes), 6)
        # What the client saw: PLAIN with an initial response (no 334), LOGIN two 334s, CRAM-MD5 one; per
        # mode and password. STARTTLS sessions get two 220s.
        self.assertEqual(expected.get(334), 4 * (0 + 2 + 1), expected)
        self.assertEqual(expected.get(235), 6)
        self.assertEqual(expected.get(535), 6)
        self.assertEqual(expected.get(220), 6 * 2 + 6)
        t = self.stop(d)
        self.assertTotals(t, expected, connections=12, transactions=6, recipients=6, bytes=sum(sizes),
                          **no_tls(tls_handshakes=12))

    def test_auth_any_accepts_every_credential(self):
        d = self.start_tls('--auth', 'any')
        expected: dict[int, int] = {}
        sizes = []
        creds = [('PLAIN', 'nobody', 'x'), ('LOGIN', 'who@ever.test', 'p a s s'), ('CRAM-MD5', 'u', ''),
                 ('PLAIN', 'alice', 'wrong')]
        for i, (mech, user, password) in enumerate(creds):
            mode, port = ('--tls', d.port) if i % 2 == 0 else ('--tlsc', d.smtps_ports[0])
            out = self.swaks(port, mode, '--auth', mech, '--auth-user', user, '--auth-password', password)
            self.assertIn('<~  235 2.7.0 Authentication successful\n', out, out)
            add(expected, swaks_reply_codes(out))
            sizes += swaks_message_sizes(out)
        self.assertEqual(expected.get(235), 4)
        self.assertNotIn(535, expected)
        t = self.stop(d)
        self.assertTotals(t, expected, connections=4, transactions=4, recipients=4, bytes=sum(sizes),
                          **no_tls(tls_handshakes=4))

    def test_swaks_auth_without_tls_is_not_offered(self):
        d = self.start_tls('--auth-users', self.users_file(USERS))
        out = self.swaks(d.port, '--auth', 'PLAIN', '--auth-user', 'alice', '--auth-password', 's3cret',
                         expect_rc=SWAKS_AUTH_FAILED)
        self.assertNotIn('AUTH PLAIN LOGIN CRAM-MD5', out)  # not in the plaintext EHLO
        self.assertNotIn(' -> AUTH', out)
        t = self.stop(d)
        self.assertTotals(t, swaks_reply_codes(out), connections=1, transactions=0, **no_tls(tls_handshakes=0))


class TestSmtplibAuth(AuthTest):
    def test_starttls_login_each_mechanism(self):
        d = self.start_tls('--auth-users', self.users_file(USERS))
        msg = make_message('smtplib-auth', 600)
        n334 = {'PLAIN': 0, 'LOGIN': 1, 'CRAM-MD5': 1}  # smtplib sends initial responses for PLAIN and LOGIN
        for mech in ('PLAIN', 'LOGIN', 'CRAM-MD5'):
            with self.subTest(mech=mech):
                s = self.smtplib_starttls(d, mechs=mech)
                self.assertEqual(s.login('alice', 's3cret'), (235, b'2.7.0 Authentication successful'))
                self.assertEqual(s.sendmail('s@test', ['r@test'], msg), {})
                self.assertEqual(s.quit()[0], 221)
        # smtplib's own choice among all three (CRAM-MD5 first), user bob.
        s = self.smtplib_starttls(d)
        self.assertEqual(s.login('bob', 'hunter2'), (235, b'2.7.0 Authentication successful'))
        self.assertEqual(s.sendmail('s@test', ['r@test'], msg), {})
        self.assertEqual(s.quit()[0], 221)
        t = self.stop(d)
        sessions = 4
        self.assertTotals(t, {220: 2 * sessions, 250: 5 * sessions, 334: sum(n334.values()) + 1, 235: sessions,
                              354: sessions, 221: sessions}, connections=sessions, transactions=sessions,
                          recipients=sessions, bytes=sessions * len(msg), **no_tls(tls_handshakes=sessions))

    def test_wrong_password_each_mechanism(self):
        d = self.start_tls('--auth-users', self.users_file(USERS))
        for mech in ('PLAIN', 'LOGIN', 'CRAM-MD5'):
            with self.subTest(mech=mech):
                s = self.smtplib_starttls(d, mechs=mech)
                with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
                    s.login('alice', 'hunter2')  # bob's password
                self.assertEqual((e.exception.smtp_code, e.exception.smtp_error),
                                 (535, b'5.7.8 Authentication credentials invalid'))
                with self.assertRaises(smtplib.SMTPAuthenticationError):
                    s.login('mallory', 's3cret')  # no such user
                self.assertEqual(s.quit()[0], 221)
        t = self.stop(d)
        self.assertTotals(t, {220: 6, 250: 6, 334: 2 * (0 + 1 + 1), 535: 6, 221: 3}, connections=3,
                          transactions=0, **no_tls(tls_handshakes=3))

    def test_explicit_mechanisms_without_initial_response(self):
        d = self.start_tls('--auth-users', self.users_file(USERS))
        for mech, fn in (('PLAIN', 'auth_plain'), ('LOGIN', 'auth_login')):
            with self.subTest(mech=mech):
                s = self.smtplib_starttls(d)
                s.user, s.password = 'bob', 'hunter2'
                self.assertEqual(s.auth(mech, getattr(s, fn), initial_response_ok=False),
                                 (235, b'2.7.0 Authentication successful'))
                self.assertEqual(s.quit()[0], 221)
        t = self.stop(d)
        # PLAIN: one empty 334; LOGIN: Username and Password.
        self.assertTotals(t, {220: 4, 250: 4, 334: 3, 235: 2, 221: 2}, connections=2, **no_tls(tls_handshakes=2))

    def test_smtps_login_and_message(self):
        d = self.start_tls('--auth-users', self.users_file(USERS))
        msg = make_message('smtps-auth', 800)
        with smtplib.SMTP_SSL('127.0.0.1', d.smtps_ports[0], local_hostname='client.test', timeout=10,
                              context=client_context()) as s:
            s.ehlo()
            self.assertEqual(s.esmtp_features.get('auth'), ' PLAIN LOGIN CRAM-MD5')
            s.esmtp_features['auth'] = 'PLAIN'
            self.assertEqual(s.login('alice', 's3cret'), (235, b'2.7.0 Authentication successful'))
            self.assertEqual(s.sendmail('s@test', ['r@test'], msg), {})
            self.assertEqual(s.sendmail('s@test', ['r@test'], msg), {})
            self.assertEqual(s.quit()[0], 221)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 1 + 6, 235: 1, 354: 2, 221: 1}, connections=1, transactions=2,
                          recipients=2, bytes=2 * len(msg), **no_tls(tls_handshakes=1))


class TestAuthFlow(AuthTest):
    def test_flow_key_auth_user(self):
        d = self.start_tls('--auth-users', self.users_file(USERS), '--flow-key', 'auth-user')
        msg = make_message('flows', 300)
        s = self.smtplib_starttls(d, mechs='PLAIN')
        s.login('alice', 's3cret')
        s.sendmail('s@test', ['r@test'], msg)
        s.sendmail('s@test', ['r@test'], msg)
        s.quit()
        with smtplib.SMTP_SSL('127.0.0.1', d.smtps_ports[0], local_hostname='client.test', timeout=10,
                              context=client_context()) as s:
            s.login('bob', 'hunter2')
            s.sendmail('s@test', ['r@test'], msg)
            s.quit()
        with smtplib.SMTP('127.0.0.1', d.port, local_hostname='client.test', timeout=10) as s:
            s.sendmail('s@test', ['r@test'], msg)  # no AUTH: no user
            s.quit()
        flows = {f['flow']: f['messages'] for f in http_request(d.http_port, 'GET', '/api/v1/flows').json()['flows']}
        captured = sorted(m['flow'] for m in http_request(d.http_port, 'GET', '/api/v1/messages').json()['messages'])
        alice = http_request(d.http_port, 'GET', f'/api/v1/flows/{quote("alice")}').json()
        t = self.stop(d)
        self.assertTotals(t, {220: 2 + 1 + 1, 250: (2 + 6) + (1 + 3) + (1 + 3), 235: 2, 334: 1, 354: 4, 221: 3},
                          connections=3, transactions=4, recipients=4, bytes=4 * len(msg),
                          **no_tls(tls_handshakes=2))
        self.assertEqual(flows, {'alice': 2, 'bob': 1, '_default': 1})
        self.assertEqual(captured, ['_default', 'alice', 'alice', 'bob'])  # --sample-rate 1 (the default) keeps all
        self.assertEqual((alice['seen'], alice['messages']), (True, 2))


class TestAuthReplies(AuthTest):
    def test_exchanges_by_hand(self):
        d = self.start_tls('--auth-users', self.users_file(USERS))
        c = self.starttls(d, auth=True)
        self.assertEqual(c.cmd('AUTH FOO'), AUTH_BAD_MECH)
        self.assertEqual(c.cmd('AUTH PLAIN'), '334 ')
        self.assertEqual(c.cmd('*'), AUTH_CANCELLED)
        self.assertEqual(c.cmd('AUTH PLAIN !!!notbase64'), AUTH_BAD_BASE64)
        self.assertEqual(c.cmd('AUTH PLAIN'), '334 ')
        self.assertEqual(c.cmd('%%%'), AUTH_BAD_BASE64)
        self.assertEqual(c.cmd('AUTH LOGIN'), '334 ' + b64('Username:'))
        self.assertEqual(c.cmd(b64('alice')), '334 ' + b64('Password:'))
        self.assertEqual(c.cmd('*'), AUTH_CANCELLED)
        self.assertEqual(c.cmd('AUTH LOGIN'), '334 ' + b64('Username:'))
        self.assertEqual(c.cmd(b64('alice')), '334 ' + b64('Password:'))
        self.assertEqual(c.cmd(b64('hunter2')), AUTH_FAILED)
        self.assertEqual(c.cmd('AUTH PLAIN ' + plain('bob', 's3cret')), AUTH_FAILED)  # alice's password
        r = c.cmd('AUTH CRAM-MD5')
        self.assertRegex(r, r'^334 [A-Za-z0-9+/]+=*$')
        challenge = base64.b64decode(r[4:], validate=True)
        self.assertRegex(challenge, rb'^<[^<>@]+@[^<>@]+>$')  # RFC 2195: a msg-id
        self.assertEqual(c.cmd(cram_response(r[4:], 'alice', 's3cret')), AUTH_OK)
        self.assertEqual(c.cmd('AUTH PLAIN ' + plain('bob', 'hunter2')), AUTH_ALREADY)
        msg = make_message('by-hand', 256)
        self.transaction(c, msg)
        self.quit(c)

        c = self.smtps(d.smtps_ports[0], auth=True)
        self.assertEqual(c.cmd('MAIL FROM:<s@test>'), MAIL_OK)
        self.assertEqual(c.cmd('AUTH PLAIN ' + plain('bob', 'hunter2')), AUTH_IN_TRANSACTION)
        self.assertEqual(c.cmd('RSET'), RSET_OK)
        self.assertEqual(c.cmd('AUTH PLAIN ' + plain('bob', 'hunter2')), AUTH_OK)
        self.assertEqual(c.cmd('AUTH LOGIN'), AUTH_ALREADY)
        self.transaction(c, msg)
        self.quit(c)
        t = self.stop(d)
        # session 1: 220 x2, EHLO x2, 504, 334 x(1+1+2+2+1), 501 x4, 535 x2, 235, 503, MAIL/RCPT/250, 354, 221
        # session 2: 220, EHLO, MAIL 250, 503, RSET 250, 235, 503, MAIL/RCPT/250, 354, 221
        self.assertTotals(t, {220: 3, 250: (2 + 3) + (1 + 1 + 1 + 3), 334: 7, 501: 4, 504: 1, 535: 2, 235: 2,
                              503: 3, 354: 2, 221: 2}, connections=2, transactions=2, recipients=2,
                          bytes=2 * len(msg), **no_tls(tls_handshakes=2))

    def test_cram_md5_wrong_and_unknown_user(self):
        d = self.start_tls('--auth-users', self.users_file(USERS))
        c = self.starttls(d, auth=True)
        for user, password in (('alice', 'hunter2'), ('nobody', 's3cret')):
            r = c.cmd('AUTH CRAM-MD5')
            self.assertEqual(r[:4], '334 ')
            self.assertEqual(c.cmd(cram_response(r[4:], user, password)), AUTH_FAILED)
        r2 = c.cmd('AUTH CRAM-MD5')
        self.assertNotEqual(r2, r, 'a CRAM-MD5 challenge must not repeat')
        self.assertEqual(c.cmd('*'), AUTH_CANCELLED)
        self.quit(c)
        t = self.stop(d)
        self.assertTotals(t, {220: 2, 250: 2, 334: 3, 535: 2, 501: 1, 221: 1}, connections=1,
                          **no_tls(tls_handshakes=1))

    def test_plaintext_538_and_auth_insecure(self):
        d = self.start_tls('--auth-users', self.users_file(USERS))
        c = self.session(d, HOST)
        c.close()
        c = self.connect(d)
        self.assertEqual(c.reply(), greeting())
        self.assertEqual(c.ehlo(), ehlo_reply(HOST))  # no AUTH before TLS
        self.assertEqual(c.cmd('AUTH PLAIN ' + plain('alice', 's3cret')), AUTH_NEEDS_TLS)
        self.assertEqual(c.cmd('AUTH LOGIN'), AUTH_NEEDS_TLS)
        self.assertEqual(c.cmd('QUIT'), BYE)
        c.close()
        t = self.stop(d)
        self.assertTotals(t, {220: 2, 250: 2, 538: 2, 221: 1}, connections=2, **no_tls(tls_handshakes=0))

        d = self.start_tls('--auth-users', self.users_file(USERS), '--auth-insecure')
        c = self.connect(d)
        self.assertEqual(c.reply(), greeting())
        self.assertEqual(c.ehlo(), ehlo_reply(HOST, auth=True))
        self.assertEqual(c.cmd('AUTH PLAIN ' + plain('alice', 'bad')), AUTH_FAILED)
        self.assertEqual(c.cmd('AUTH PLAIN ' + plain('alice', 's3cret')), AUTH_OK)
        self.quit(c)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 1, 535: 1, 235: 1, 221: 1}, connections=1, **no_tls(tls_handshakes=0))

    def test_auth_not_configured_502(self):
        d = self.start_tls()
        c = self.starttls(d, auth=False)
        self.assertEqual(c.cmd('AUTH PLAIN ' + plain('alice', 's3cret')), NOT_IMPLEMENTED)
        self.assertEqual(c.cmd('AUTH CRAM-MD5'), NOT_IMPLEMENTED)
        self.quit(c)
        p = self.connect(d)
        self.assertEqual(p.reply(), greeting())
        self.assertEqual(p.ehlo(), ehlo_reply(HOST))
        self.assertEqual(p.cmd('AUTH LOGIN'), NOT_IMPLEMENTED)
        self.quit(p)
        t = self.stop(d)
        self.assertTotals(t, {220: 3, 250: 3, 502: 3, 221: 2}, connections=2, **no_tls(tls_handshakes=1))

    def test_auth_any_by_hand(self):
        d = self.start_tls('--auth', 'any')
        for mech in ('PLAIN', 'LOGIN', 'CRAM-MD5'):
            with self.subTest(mech=mech):
                c = self.smtps(d.smtps_ports[0], auth=True)
                if mech == 'PLAIN':
                    self.assertEqual(c.cmd('AUTH PLAIN ' + plain('x', 'y')), AUTH_OK)
                elif mech == 'LOGIN':
                    self.assertEqual(c.cmd('AUTH LOGIN ' + b64('x')), '334 ' + b64('Password:'))
                    self.assertEqual(c.cmd(b64('whatever')), AUTH_OK)
                else:
                    r = c.cmd('AUTH CRAM-MD5')
                    self.assertEqual(r[:4], '334 ')
                    self.assertEqual(c.cmd(cram_response(r[4:], 'x', 'any')), AUTH_OK)
                self.quit(c)
        t = self.stop(d)
        self.assertTotals(t, {220: 3, 250: 3, 334: 2, 235: 3, 221: 3}, connections=3, **no_tls(tls_handshakes=3))
