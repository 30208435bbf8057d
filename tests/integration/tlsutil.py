"""Helpers for the TLS and AUTH integration tests: the daemon's logged certificate fingerprints, raw SMTP clients
switched to TLS (STARTTLS or implicit), openssl s_client / x509 / req runs, swaks transcripts, and TlsTest, a
DaemonTest with a temporary directory and the smtps ports its daemons logged. Standard library plus the openssl
command; every subprocess and every socket wait is bounded."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import ssl
import subprocess
import tempfile

from daemon import Daemon, listen_ports
from daemon_test import DaemonTest
from parsers import parse_kv, unstuff
from replies import HOST, QUEUED_RE, STARTTLS_READY, ehlo_reply, greeting
from smtp_client import Client

OPENSSL = shutil.which('openssl') or '/usr/bin/openssl'
SWAKS = shutil.which('swaks') or '/usr/bin/swaks'
SUBPROCESS_TIMEOUT = 20.0

FP_RE = re.compile(r'^[0-9A-F]{2}(?::[0-9A-F]{2}){31}$')


def log_fingerprints(lines: list[str], msg: str) -> list[str]:
    """The sha256= values of the log lines with this msg, in order."""
    return [kv['sha256'] for kv in map(parse_kv, lines) if kv.get('msg') == msg and 'sha256' in kv]


def colon_hex(digest: bytes) -> str:
    return ':'.join(f'{b:02X}' for b in digest)


def der_fingerprint(der: bytes) -> str:
    return colon_hex(hashlib.sha256(der).digest())


def pem_fingerprint(pem: bytes) -> str:
    """SHA-256 fingerprint of the first certificate in pem, computed by `openssl x509`."""
    p = subprocess.run([OPENSSL, 'x509', '-noout', '-fingerprint', '-sha256'], input=pem, capture_output=True,
                       timeout=SUBPROCESS_TIMEOUT)
    if p.returncode != 0:
        raise AssertionError(f'openssl x509 failed: {p.stderr!r}')
    out = p.stdout.decode().strip()
    fp = out.partition('=')[2]
    if not FP_RE.match(fp):
        raise AssertionError(f'unexpected openssl x509 output {out!r}')
    return fp


def file_fingerprint(path: str) -> str:
    with open(path, 'rb') as f:
        return pem_fingerprint(f.read())


def make_cert(directory: str, tag: str, cn: str = 'test') -> tuple[str, str]:
    """A fresh self-signed P-256 certificate and key made by `openssl req`; returns (cert path, key path)."""
    cert = os.path.join(directory, f'c-{tag}.pem')
    key = os.path.join(directory, f'k-{tag}.pem')
    p = subprocess.run([OPENSSL, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
                        '-subj', f'/CN={cn}', '-keyout', key, '-out', cert, '-days', '2'],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=SUBPROCESS_TIMEOUT)
    if p.returncode != 0:
        raise AssertionError(f'openssl req failed: {p.stderr!r}')
    return cert, key


def replace_file(src: str, dst: str) -> None:
    """Puts a copy of src at dst atomically (a reload never sees a half-written file)."""
    tmp = dst + '.tmp'
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def write_file(path: str, data: bytes) -> None:
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)


def client_context(max_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """A client context that accepts the daemon's (self-signed) certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


def wrap(c: Client, ctx: ssl.SSLContext | None = None, ragged_eof_ok: bool = True) -> ssl.SSLSocket:
    """Turns a raw client's socket into a TLS one (handshake bounded by the client's timeout)."""
    if c.buf:
        raise AssertionError(f'bytes left over before the TLS handshake: {c.buf!r}')
    ctx = ctx or client_context()
    c.sock.settimeout(c.timeout)
    c.sock = ctx.wrap_socket(c.sock, server_hostname=None, suppress_ragged_eofs=ragged_eof_ok)
    return c.sock


def peer_fingerprint(c: Client) -> str:
    return der_fingerprint(c.sock.getpeercert(binary_form=True))


def tls_info(c: Client) -> str:
    """`VERSION CIPHER` as the daemon reports it in the capture API."""
    return f'{c.sock.version()} {c.sock.cipher()[0]}'


def s_client(port: int, *extra: str, starttls: bool = True, stdin: str = 'QUIT\n',
             timeout: float = SUBPROCESS_TIMEOUT) -> tuple[int, str, str]:
    """Runs `openssl s_client` against 127.0.0.1:port with -crlf -ign_eof and these stdin lines (ending with
    QUIT, so that the server closes). Returns (exit code, stdout with CRLF made LF, stderr)."""
    argv = [OPENSSL, 's_client', '-connect', f'127.0.0.1:{port}', '-crlf', '-ign_eof']
    if starttls:
        argv += ['-starttls', 'smtp']
    argv += list(extra)
    p = subprocess.run(argv, input=stdin.encode(), capture_output=True, timeout=timeout)
    return (p.returncode, p.stdout.decode('utf-8', 'replace').replace('\r\n', '\n'),
            p.stderr.decode('utf-8', 'replace'))


def server_pem(out: str) -> bytes:
    """The `Server certificate` PEM block from s_client's output."""
    m = re.search(r'-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n', out, re.S)
    if not m:
        raise AssertionError(f'no server certificate in s_client output:\n{out}')
    return m.group(0).encode()


def after_handshake(out: str) -> str:
    """The SMTP replies the server sent over TLS, as s_client printed them on stdout (its own plaintext EHLO
    exchange goes to stderr; its session blocks and `read R BLOCK` lines are interleaved unpredictably with
    the data, so only reply lines are kept: `NNN ` / `NNN-`, which no PEM or hex-dump line can look like)."""
    return ''.join(l + '\n' for l in out.split('\n') if re.match(r'^\d{3}[ -]', l))


def s_client_fingerprint(port: int, starttls: bool = True) -> tuple[str, str]:
    """(fingerprint of the certificate a new s_client sees, its whole output)."""
    rc, out, err = s_client(port, starttls=starttls)
    return pem_fingerprint(server_pem(out)), out


_SWAKS_REPLY = re.compile(r'^<[-~][ *] (\d{3}) ', re.M)


def swaks_reply_codes(out: str) -> dict[int, int]:
    """Reply codes the client received, from a swaks transcript (last line of each reply)."""
    counts: dict[int, int] = {}
    for code in _SWAKS_REPLY.findall(out):
        counts[int(code)] = counts.get(int(code), 0) + 1
    return counts


def swaks_message_sizes(out: str) -> list[int]:
    """Unstuffed sizes of the messages swaks sent, from its transcript (the lines between DATA's 354 and `.`)."""
    sizes = []
    lines = out.split('\n')
    i = 0
    while i < len(lines):
        if re.match(r'^<[-~] {2}354 ', lines[i]):
            body = []
            i += 1
            while i < len(lines) and lines[i] not in (' -> .', ' ~> .'):
                if not re.match(r'^ [-~]> ', lines[i]):
                    raise AssertionError(f'unexpected transcript line in DATA: {lines[i]!r}')
                body.append(lines[i][4:].rstrip('\r').encode() + b'\r\n')  # swaks prints the CR
                i += 1
            sizes.append(len(unstuff(b''.join(body))))
        i += 1
    return sizes


class TlsTest(DaemonTest):
    """A DaemonTest with a temporary directory and helpers for daemons with STARTTLS, smtps and AUTH."""

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix='sb-tls-')
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def start_tls(self, *args: str, smtps: int = 1, **kw) -> Daemon:
        """A daemon with `smtps` implicit-TLS listeners on free ports; d.smtps_ports holds their ports."""
        flags = ['--hostname', HOST]
        for _ in range(smtps):
            flags += ['--smtps-listen', '127.0.0.1:0']
        d = self.start(*flags, *args, **kw)
        d.smtps_ports = listen_ports(d, 'smtps')
        self.assertEqual(len(d.smtps_ports), smtps, f'listening smtps lines: {d.lines}')
        return d

    def users_file(self, text: str) -> str:
        path = os.path.join(self.tmp, 'users')
        with open(path, 'w') as f:
            f.write(text)
        return path

    def starttls(self, d_or_port, ctx: ssl.SSLContext | None = None, ehlo: bool = True,
                 auth: bool = False, ragged_eof_ok: bool = True) -> Client:
        """Greeting, EHLO (STARTTLS offered last), STARTTLS, handshake, and (ehlo) EHLO over TLS (no STARTTLS)."""
        c = self.connect(d_or_port)
        self.assertEqual(c.reply(), greeting())
        self.assertEqual(c.ehlo(), ehlo_reply(HOST, auth=False))
        self.assertEqual(c.cmd('STARTTLS'), STARTTLS_READY)
        wrap(c, ctx, ragged_eof_ok)
        if ehlo:
            self.assertEqual(c.ehlo(), ehlo_reply(HOST, tls=True, auth=auth))
        return c

    def smtps(self, port: int, ctx: ssl.SSLContext | None = None, ehlo: bool = True, auth: bool = False) -> Client:
        """Implicit TLS: handshake first, then the greeting and (ehlo) EHLO."""
        c = self.connect(port)
        wrap(c, ctx)
        self.assertEqual(c.reply(), greeting())
        if ehlo:
            self.assertEqual(c.ehlo(), ehlo_reply(HOST, tls=True, auth=auth))
        return c

    def transaction(self, c: Client, message: bytes, sender: str = 's@test', rcpt: str = 'r@test') -> str:
        """One MAIL/RCPT/DATA transaction (message: CRLF lines, unstuffed, ending in CRLF) that must be queued;
        returns the reply with the queue id."""
        r = super().transaction(c, message, sender, (rcpt,))
        self.assertIsNotNone(QUEUED_RE.match(r), r)
        return r

    def wait_log(self, d: Daemon, msg: str, start: int, timeout: float = 10.0) -> dict[str, str]:
        """The first log line with this msg at index >= start, parsed."""
        return parse_kv(d.wait_line(lambda l: parse_kv(l).get('msg') == msg, timeout, start))
