"""The TLS policy flags against the real daemon (--tls-min-version, --tls-max-version, --tls-ciphers,
--tls-ciphersuites, --tls-groups), over STARTTLS and implicit TLS alike, with openssl s_client and Python's
ssl/smtplib: a client that offers only what the policy refuses fails its handshake and is counted exactly by reason
in smtp_blackhole_tls_failed_total{reason}; an accepted handshake's version, cipher and group are asserted exactly
(s_client -brief's lines; version and cipher in the capture API too). Also: the policy across a SIGHUP reload, the
flags from the environment, bad values (one line, exit 2), and the reasons of abuse (timeout, peer_alert, other).
Every count is checked exactly against /metrics and the final totals."""
import collections
import signal
import smtplib
import ssl
import warnings

from daemon import run_binary
from http_client import http_request, metric_labels, parse_prometheus
from messages import make_message
from replies import HOST, STARTTLS_READY, ehlo_reply, greeting
from tlsutil import TlsTest, client_context, log_fingerprints, peer_fingerprint, s_client, wrap

REASONS = ('protocol_version', 'no_shared_cipher', 'no_shared_group', 'peer_alert', 'timeout', 'other')
RELOADED = 'TLS certificate reloaded'
SELF_SIGNED = 'TLS with a self-signed certificate'
# What the client sees of each kind of session, as reply codes (the daemon's totals count the same).
REFUSED_STARTTLS = {220: 2, 250: 1}       # greeting, EHLO, STARTTLS's 220; then the handshake fails
REFUSED_SMTPS = {}                        # the handshake comes first
S_CLIENT_STARTTLS = {220: 2, 250: 1, 221: 1}  # s_client's EHLO and STARTTLS, then our QUIT over TLS
S_CLIENT_SMTPS = {220: 1, 221: 1}
SMTPLIB_STARTTLS = {220: 2, 250: 5, 354: 1, 221: 1}  # EHLO, STARTTLS, EHLO, MAIL, RCPT, DATA, QUIT
SMTPLIB_SMTPS = {220: 1, 250: 4, 354: 1, 221: 1}


def brief(err: str) -> dict[str, str]:
    """s_client -brief's `Key: value` lines (Protocol version, Ciphersuite, Server Temp Key...) from its stderr."""
    out = {}
    for line in err.split('\n'):
        key, sep, value = line.partition(': ')
        if sep and key in ('Protocol version', 'Ciphersuite', 'Server Temp Key'):
            out[key] = value.strip()
    return out


def ssl_context(minimum=None, maximum=None, ciphers: str | None = None, verify: bool = False) -> ssl.SSLContext:
    """A client context with these versions and TLS 1.2 ciphers; without `verify`, any certificate is taken."""
    ctx = client_context() if not verify else ssl.create_default_context()
    if verify:
        ctx.check_hostname = False  # the certificate itself is what fails
    with warnings.catch_warnings():  # Python deprecates TLS 1.0 and 1.1; these tests use them on purpose
        warnings.simplefilter('ignore', DeprecationWarning)
        if minimum is not None:
            ctx.minimum_version = minimum
        if maximum is not None:
            ctx.maximum_version = maximum
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    return ctx


class PolicyTest(TlsTest):
    """A TlsTest that tallies the replies its clients must have received, for the exact totals at stop."""

    def setUp(self):
        super().setUp()
        self.replies = collections.Counter()
        self.connections = 0
        self.sent = {}  # subject -> message, for the capture API

    def ports(self, d) -> list[tuple[int, bool]]:
        """(port, starttls) of the daemon's STARTTLS port and its smtps port."""
        return [(d.port, True), (d.smtps_ports[0], False)]

    def s_client_refused(self, d, *args: str) -> None:
        """s_client with these flags fails its handshake on both ports."""
        for port, starttls in self.ports(d):
            rc, out, err = s_client(port, '-brief', *args, starttls=starttls)
            self.assertNotEqual(rc, 0, f'{args} starttls={starttls}: {out}{err}')
            self.assertNotIn('CONNECTION ESTABLISHED', err)
            self.tally(REFUSED_STARTTLS if starttls else REFUSED_SMTPS)

    def s_client_accepted(self, d, *args: str, **expected: str) -> None:
        """s_client with these flags gets through on both ports; its -brief lines are `expected`
        (protocol=..., cipher=..., group=...), and its QUIT is answered over TLS."""
        names = {'protocol': 'Protocol version', 'cipher': 'Ciphersuite', 'group': 'Server Temp Key'}
        for port, starttls in self.ports(d):
            rc, out, err = s_client(port, '-brief', *args, starttls=starttls)
            self.assertEqual(rc, 0, f'{args} starttls={starttls}: {out}{err}')
            got = brief(err)
            self.assertEqual({k: got.get(names[k]) for k in expected}, expected, err)
            self.assertEqual(out.strip().split('\n')[-1], '221 2.0.0 Bye', out)
            self.tally(S_CLIENT_STARTTLS if starttls else S_CLIENT_SMTPS)

    def python_refused(self, d, ctx: ssl.SSLContext) -> None:
        """Python's ssl with `ctx` fails its handshake: after STARTTLS (a raw client) and on the smtps port."""
        c = self.connect(d)
        self.assertEqual(c.reply(), greeting())
        self.assertEqual(c.ehlo(), ehlo_reply(HOST))
        self.assertEqual(c.cmd('STARTTLS'), STARTTLS_READY)
        with self.assertRaises(ssl.SSLError):
            wrap(c, ctx)
        c.close()
        with self.assertRaises(ssl.SSLError):
            smtplib.SMTP_SSL('127.0.0.1', d.smtps_ports[0], local_hostname='client.test', timeout=10, context=ctx)
        self.tally(REFUSED_STARTTLS)
        self.tally(REFUSED_SMTPS)

    def smtplib_sends(self, d, ctx: ssl.SSLContext, tag: str, tls: str) -> None:
        """smtplib with `ctx` sends one message over STARTTLS and one over smtps; each session's `VERSION CIPHER`,
        as the client saw it and as the capture API has it with its message, is `tls`."""
        subjects = {}
        for starttls in (True, False):
            subject = f'{tag}-{"starttls" if starttls else "smtps"}'
            self.sent[subject] = make_message(subject, 300 + len(self.sent))
            if starttls:
                s = smtplib.SMTP('127.0.0.1', d.port, local_hostname='client.test', timeout=10)
                self.assertEqual(s.starttls(context=ctx)[0], 220)
            else:
                s = smtplib.SMTP_SSL('127.0.0.1', d.smtps_ports[0], local_hostname='client.test', timeout=10,
                                     context=ctx)
            with s:
                self.assertEqual(s.sendmail('s@test', ['r@test'], self.sent[subject]), {})
                subjects[subject] = f'{s.sock.version()} {s.sock.cipher()[0]}'
                self.assertEqual(s.quit()[0], 221)
            self.tally(SMTPLIB_STARTTLS if starttls else SMTPLIB_SMTPS)
        self.assertEqual(subjects, dict.fromkeys(subjects, tls))
        messages = http_request(d.http_port, 'GET', '/api/v1/messages').json()['messages']
        captured = {m['subject']: m['tls'] for m in messages}
        self.assertEqual({k: captured.get(k) for k in subjects}, subjects)

    def assertFailures(self, d, **counts: int) -> None:
        """/metrics: tls_failed_total with exactly these counts by reason (every reason present, the others 0),
        summing to tls_handshakes_total{result="failed"}."""
        self.settle(d)
        samples = parse_prometheus(http_request(d.http_port, 'GET', '/metrics').body.decode())
        expected = {r: float(counts.get(r, 0)) for r in REASONS}
        self.assertEqual(metric_labels(samples, 'smtp_blackhole_tls_failed_total', 'reason'), expected)
        self.assertEqual(metric_labels(samples, 'smtp_blackhole_tls_handshakes_total', 'result')['failed'],
                         sum(expected.values()))

    def tally(self, replies: dict[int, int]) -> None:
        """One more session, which received these replies."""
        self.replies.update(replies)
        self.connections += 1

    def stop_and_check(self, d, ok: int, failed: int) -> None:
        """Stops the daemon; its totals hold exactly the tallied sessions and replies, these handshakes and the
        messages sent."""
        t = self.stop(d)
        self.assertTotals(t, {c: n for c, n in self.replies.items() if n}, connections=self.connections,
                          transactions=len(self.sent), recipients=len(self.sent),
                          bytes=sum(map(len, self.sent.values())), tls_handshakes=ok, tls_failed=failed,
                          tls_resumed=0)


class TestVersions(PolicyTest):
    def test_min_13_refuses_tls12_clients(self):
        d = self.start_tls('--tls-min-version', '1.3', '--tls-ciphersuites', 'TLS_AES_128_GCM_SHA256')
        self.s_client_refused(d, '-tls1_2')
        self.python_refused(d, ssl_context(maximum=ssl.TLSVersion.TLSv1_2))
        self.assertFailures(d, protocol_version=4)
        self.s_client_accepted(d, '-tls1_3', protocol='TLSv1.3', cipher='TLS_AES_128_GCM_SHA256')
        self.smtplib_sends(d, ssl_context(), 'min13', 'TLSv1.3 TLS_AES_128_GCM_SHA256')
        self.assertFailures(d, protocol_version=4)
        self.stop_and_check(d, ok=4, failed=4)

    def test_max_12_refuses_tls13_only_clients(self):
        d = self.start_tls('--tls-max-version', '1.2', '--tls-ciphers', 'ECDHE-ECDSA-AES128-GCM-SHA256',
                           '--tls-groups', 'X25519')
        self.s_client_refused(d, '-tls1_3')
        self.python_refused(d, ssl_context(minimum=ssl.TLSVersion.TLSv1_3))
        self.s_client_accepted(d, protocol='TLSv1.2', cipher='ECDHE-ECDSA-AES128-GCM-SHA256',
                               group='X25519, 253 bits')
        self.smtplib_sends(d, ssl_context(), 'max12', 'TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256')
        self.assertFailures(d, protocol_version=4)
        self.stop_and_check(d, ok=4, failed=4)

    def test_tls10_and_11_refused_by_default(self):
        d = self.start_tls()
        self.s_client_refused(d, '-tls1', '-cipher', 'DEFAULT:@SECLEVEL=0')
        self.s_client_refused(d, '-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0')
        self.python_refused(d, ssl_context(ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1, 'DEFAULT:@SECLEVEL=0'))
        self.assertFailures(d, protocol_version=6)
        self.stop_and_check(d, ok=0, failed=6)

    def test_tls10_and_11_when_asked(self):
        d = self.start_tls('--tls-min-version', '1.0', '--tls-max-version', '1.1', '--tls-ciphers',
                           'ECDHE-ECDSA-AES128-SHA', '--tls-groups', 'P-256')
        old = ('-cipher', 'DEFAULT:@SECLEVEL=0')  # the client's own security level must allow them too
        self.s_client_accepted(d, '-tls1', *old, protocol='TLSv1', cipher='ECDHE-ECDSA-AES128-SHA',
                               group='ECDH, prime256v1, 256 bits')
        self.s_client_accepted(d, '-tls1_1', *old, protocol='TLSv1.1', cipher='ECDHE-ECDSA-AES128-SHA',
                               group='ECDH, prime256v1, 256 bits')
        # The server answers these with TLS 1.1 (its maximum), which they refuse: still counted as the version.
        self.s_client_refused(d, '-tls1_2')
        self.s_client_refused(d)
        ctx = ssl_context(ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_2, 'DEFAULT:@SECLEVEL=0')
        self.smtplib_sends(d, ctx, 'tls11', 'TLSv1.1 ECDHE-ECDSA-AES128-SHA')
        self.assertFailures(d, protocol_version=4)
        self.stop_and_check(d, ok=6, failed=4)


class TestCiphersAndGroups(PolicyTest):
    def test_tls12_ciphers(self):
        d = self.start_tls('--tls-ciphers', 'ECDHE-ECDSA-AES128-GCM-SHA256')
        self.s_client_refused(d, '-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384')
        self.python_refused(d, ssl_context(maximum=ssl.TLSVersion.TLSv1_2, ciphers='ECDHE-ECDSA-AES256-GCM-SHA384'))
        self.assertFailures(d, no_shared_cipher=4)
        self.s_client_accepted(d, '-tls1_2', protocol='TLSv1.2', cipher='ECDHE-ECDSA-AES128-GCM-SHA256')
        # The TLS 1.2 list leaves TLS 1.3 alone: the same client offering 1.3 too gets through with it.
        self.s_client_accepted(d, '-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384', protocol='TLSv1.3')
        self.smtplib_sends(d, ssl_context(maximum=ssl.TLSVersion.TLSv1_2), 'ciphers',
                           'TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256')
        self.assertFailures(d, no_shared_cipher=4)
        self.stop_and_check(d, ok=6, failed=4)

    def test_tls13_ciphersuites(self):
        d = self.start_tls('--tls-ciphersuites', 'TLS_CHACHA20_POLY1305_SHA256')
        self.s_client_refused(d, '-tls1_3', '-ciphersuites', 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256')
        self.assertFailures(d, no_shared_cipher=2)
        self.s_client_accepted(d, '-tls1_3', protocol='TLSv1.3', cipher='TLS_CHACHA20_POLY1305_SHA256')
        self.smtplib_sends(d, ssl_context(), 'suites', 'TLSv1.3 TLS_CHACHA20_POLY1305_SHA256')
        self.stop_and_check(d, ok=4, failed=2)

    def test_groups(self):
        d = self.start_tls('--tls-groups', 'P-384', '--tls-ciphersuites', 'TLS_AES_256_GCM_SHA384')
        self.s_client_refused(d, '-tls1_3', '-groups', 'X25519')
        self.assertFailures(d, no_shared_group=2)
        # TLS 1.2 has no group of its own to fail on: with no shared group no ECDHE cipher is left.
        self.s_client_refused(d, '-tls1_2', '-groups', 'X25519:P-256')
        self.assertFailures(d, no_shared_group=2, no_shared_cipher=2)
        # Its key share is X25519's: the server asks again for P-384 (HelloRetryRequest) and gets it.
        self.s_client_accepted(d, '-groups', 'X25519:P-384', protocol='TLSv1.3', cipher='TLS_AES_256_GCM_SHA384',
                               group='ECDH, secp384r1, 384 bits')
        # (A TLS 1.2 client must name the certificate's curve, P-256, too: ECDSA signs with it.)
        self.s_client_accepted(d, '-tls1_2', '-groups', 'P-256:P-384', protocol='TLSv1.2',
                               group='ECDH, secp384r1, 384 bits')
        self.smtplib_sends(d, ssl_context(), 'groups', 'TLSv1.3 TLS_AES_256_GCM_SHA384')
        self.assertFailures(d, no_shared_group=2, no_shared_cipher=2)
        self.stop_and_check(d, ok=6, failed=4)


class TestReasonsOfAbuse(PolicyTest):
    def test_timeout_peer_alert_and_other(self):
        d = self.start_tls('--tls-handshake-timeout', '1s')
        silent = self.connect(d.smtps_ports[0])
        self.tally(REFUSED_SMTPS)
        plain = self.connect(d.smtps_ports[0])
        plain.send(b'EHLO x\r\n')  # no TLS at all
        plain.expect_closed(timeout=5)
        self.tally(REFUSED_SMTPS)
        # A client that checks the certificate refuses the self-signed one with an alert.
        self.python_refused(d, ssl_context(verify=True))
        silent.expect_closed(timeout=5)
        self.assertFailures(d, timeout=1, other=1, peer_alert=2)
        self.stop_and_check(d, ok=0, failed=4)


class TestReloadAndEnvironment(PolicyTest):
    def test_policy_survives_sighup(self):
        d = self.start_tls('--tls-min-version', '1.3', '--tls-ciphersuites', 'TLS_CHACHA20_POLY1305_SHA256',
                           '--tls-groups', 'P-384')
        fp0 = log_fingerprints(d.lines, SELF_SIGNED)[0]
        expected = dict(protocol='TLSv1.3', cipher='TLS_CHACHA20_POLY1305_SHA256', group='ECDH, secp384r1, 384 bits')
        self.s_client_accepted(d, **expected)
        mark = len(d.lines)
        d.send_signal(signal.SIGHUP)
        fp1 = self.wait_log(d, RELOADED, mark)['sha256']
        self.assertNotEqual(fp1, fp0)
        self.s_client_refused(d, '-tls1_2')
        self.s_client_accepted(d, **expected)
        c = self.smtps(d.smtps_ports[0])  # the new certificate, under the same policy
        self.assertEqual(peer_fingerprint(c), fp1)
        self.assertEqual(c.sock.version(), 'TLSv1.3')
        self.assertEqual(c.sock.cipher()[0], 'TLS_CHACHA20_POLY1305_SHA256')
        self.quit(c)
        self.tally({220: 1, 250: 1, 221: 1})
        self.assertFailures(d, protocol_version=2)
        self.stop_and_check(d, ok=5, failed=2)

    def test_policy_from_the_environment(self):
        d = self.start_tls(env={
            'SMTP_BLACKHOLE_TLS_MIN_VERSION': '1.3',
            'SMTP_BLACKHOLE_TLS_CIPHERSUITES': 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256',
            'SMTP_BLACKHOLE_TLS_GROUPS': 'P-384',
        })
        self.s_client_refused(d, '-tls1_2')
        self.s_client_refused(d, '-tls1_3', '-ciphersuites', 'TLS_AES_256_GCM_SHA384')
        self.s_client_accepted(d, '-ciphersuites', 'TLS_AES_128_GCM_SHA256', protocol='TLSv1.3',
                               cipher='TLS_AES_128_GCM_SHA256', group='ECDH, secp384r1, 384 bits')
        self.assertFailures(d, protocol_version=2, no_shared_cipher=2)
        self.stop_and_check(d, ok=2, failed=4)

    def test_the_command_line_wins_over_the_environment(self):
        d = self.start_tls('--tls-max-version', '1.2', env={'SMTP_BLACKHOLE_TLS_MAX_VERSION': '1.3'})
        self.s_client_accepted(d, protocol='TLSv1.2')
        self.stop_and_check(d, ok=2, failed=0)


class TestBadValues(PolicyTest):
    def test_bad_values_exit_2_with_one_line_naming_the_flag(self):
        cases = [
            (['--tls-min-version', '1.4'], '--tls-min-version'),
            (['--tls-max-version', 'TLSv1.0'], '--tls-max-version'),
            (['--tls-min-version', ''], '--tls-min-version'),
            (['--tls-min-version', '1.3', '--tls-max-version', '1.2'], '--tls-min-version 1.3 is above'),
            (['--tls-ciphers', 'NO-SUCH-CIPHER'], '--tls-ciphers'),
            (['--tls-ciphersuites', 'TLS_AES_128_GCM_SHA256:TLS_NO_SUCH_SUITE'], '--tls-ciphersuites'),
            (['--tls-ciphersuites', 'TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384'], '--tls-ciphersuites'),
            (['--tls-groups', 'X25519:P-999'], '--tls-groups'),
        ]
        for args, flag in cases:
            with self.subTest(args=args):
                self.assertExit2OneLine(args, prefix='smtp-blackhole: ' + flag)
        for var, value in (('TLS_MIN_VERSION', '1.4'), ('TLS_GROUPS', 'X25519,P-256'), ('TLS_CIPHERS', 'NOPE')):
            with self.subTest(var=var):
                self.assertExit2OneLine([], prefix=f'smtp-blackhole: SMTP_BLACKHOLE_{var}={value}: --',
                                        env={'SMTP_BLACKHOLE_' + var: value})

    def test_help_lists_the_flags_and_defaults(self):
        p = run_binary(['--help'])
        self.assertEqual(p.returncode, 0)
        text = p.stdout.decode()
        for flag in ('--tls-min-version', '--tls-max-version', '--tls-ciphers', '--tls-ciphersuites', '--tls-groups'):
            self.assertIn(flag, text)
        self.assertIn('(default: 1.2)', text)
        self.assertIn('(default: 1.3)', text)
