"""The PROXY protocol (HAProxy's v1 text and v2 binary headers) with --proxy-protocol-from: the client a trusted
peer's header names is the one captured, on smtp and smtps listeners (the header before the TLS ClientHello),
however the header is cut into sends; a peer outside the networks, and a trusted peer without a good header in
time, are closed before any greeting and counted by reason in smtp_blackhole_proxy_rejected_total."""
from __future__ import annotations

import ipaddress
import socket
import struct
import time

from api import FlowTest
from daemon import listen_ports, run_binary
from http_client import metric_labels, parse_prometheus
from parsers import parse_kv
from replies import HOST, QUEUED_RE, greeting
from tlsutil import tls_info, wrap

REJECTED = 'smtp_blackhole_proxy_rejected_total'
REASONS = ('not_proxy', 'bad_v1', 'bad_v2', 'too_long', 'unsupported', 'untrusted', 'timeout', 'eof')
V2_SIGNATURE = b'\r\n\r\n\x00\r\nQUIT\n'
MSG = b'Subject: proxied\r\nX-Flow: proxy\r\n\r\nhello\r\n'


def v1(src: str, sport: int, dst: str = '198.51.100.1', dport: int = 25) -> bytes:
    fam = 'TCP6' if ':' in src else 'TCP4'
    return f'PROXY {fam} {src} {dst} {sport} {dport}\r\n'.encode()


def v2(src: str, sport: int, dst: str = '198.51.100.1', dport: int = 25, version_command: int = 0x21) -> bytes:
    """A v2 PROXY header over TCP (version 2, command PROXY unless told), no TLV."""
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    fam = 0x11 if s.version == 4 else 0x21  # TCP over IPv4 / IPv6
    block = s.packed + d.packed + struct.pack('!HH', sport, dport)
    return V2_SIGNATURE + bytes([version_command, fam]) + struct.pack('!H', len(block)) + block


class ProxyTest(FlowTest):
    def begin_proxy(self, *nets: str, smtps: bool = False, extra=()):
        flags = [a for n in nets for a in ('--proxy-protocol-from', n)]
        if smtps:
            flags += ['--smtps-listen', '127.0.0.1:0']
        d = self.begin(*flags, *extra)
        d.smtps_ports = listen_ports(d, 'smtps')
        return d

    def rejected(self, d) -> dict[str, float]:
        r = self.request(d, 'GET', '/metrics')
        self.assertEqual(r.status, 200, r)
        return metric_labels(parse_prometheus(r.body.decode('utf-8')), REJECTED, 'reason')

    def assertRejected(self, d, **expected: int) -> None:
        """Every reason's exact count: those named, 0 for the others."""
        want = {r: float(expected.get(r, 0)) for r in REASONS}
        self.assertEqual(self.rejected(d), want)

    def send_header(self, c, header: bytes, bytewise: bool = False) -> None:
        if not bytewise:
            return c.send(header)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(header)):
            c.send(header[i:i + 1])
            time.sleep(0.005)

    def proxied_delivery(self, d, header: bytes, bytewise: bool = False) -> None:
        """A header, then the greeting, EHLO, one accepted message, QUIT."""
        c = self.connect(d)
        self.send_header(c, header, bytewise)
        self.assertEqual(c.reply(), greeting(HOST))
        self.assertTrue(c.ehlo().startswith(f'250-{HOST}\n'))
        self.assertRegex(self.transaction(c, MSG), QUEUED_RE)
        self.quit(c)

    def assertClosedSilently(self, d, sent: bytes = b'', shut_write: bool = False, timeout: float = 5.0) -> None:
        """A connection that sends `sent` is closed by the daemon without a byte (no greeting)."""
        c = self.connect(d)
        if sent:
            c.send(sent)
        if shut_write:
            c.sock.shutdown(socket.SHUT_WR)
        c.expect_closed(timeout)
        c.close()


class TestProxied(ProxyTest):
    def test_v1_and_v2_on_smtp_name_the_captured_client(self):
        d = self.begin_proxy('127.0.0.0/8')
        self.proxied_delivery(d, v1('192.0.2.10', 40001))
        self.proxied_delivery(d, v2('203.0.113.7', 40002))
        self.proxied_delivery(d, v2('2001:db8::7', 40003, dst='2001:db8::1'))
        self.proxied_delivery(d, v1('2001:db8::8', 40004, dst='2001:db8::1'))
        got = sorted(m['client'] for m in self.captured(d, 4))
        self.assertEqual(got, sorted(['192.0.2.10:40001', '203.0.113.7:40002', '[2001:db8::7]:40003',
                                      '[2001:db8::8]:40004']))
        self.assertRejected(d)
        headers = [kv for kv in map(parse_kv, d.lines) if kv.get('msg') == 'proxy header']
        self.assertEqual(sorted(kv['client'] for kv in headers), got, d.lines)
        self.stop(d)

    def test_v2_local_keeps_the_socket_peer(self):
        d = self.begin_proxy('127.0.0.1')
        c = self.connect(d)
        port = c.sock.getsockname()[1]
        c.send(V2_SIGNATURE + bytes([0x20, 0x00]) + struct.pack('!H', 0))  # LOCAL: a health check
        self.assertEqual(c.reply(), greeting(HOST))
        c.ehlo()
        self.assertRegex(self.transaction(c, MSG), QUEUED_RE)
        self.quit(c)
        self.assertEqual([m['client'] for m in self.captured(d, 1)], [f'127.0.0.1:{port}'])
        self.stop(d)

    def test_a_header_sent_byte_by_byte(self):
        d = self.begin_proxy('127.0.0.0/8')
        self.proxied_delivery(d, v1('192.0.2.20', 50001), bytewise=True)
        self.proxied_delivery(d, v2('192.0.2.21', 50002), bytewise=True)
        got = sorted(m['client'] for m in self.captured(d, 2))
        self.assertEqual(got, ['192.0.2.20:50001', '192.0.2.21:50002'])
        self.assertRejected(d)
        self.stop(d)

    def test_v1_then_tls_on_smtps(self):
        d = self.begin_proxy('127.0.0.0/8', smtps=True)
        self.assertEqual(len(d.smtps_ports), 1, d.lines)
        infos = {}
        for header, client in ((v1('192.0.2.30', 60001), '192.0.2.30:60001'),
                               (v2('192.0.2.31', 60002), '192.0.2.31:60002')):
            c = self.connect(d.smtps_ports[0])
            c.send(header)
            wrap(c)
            self.assertEqual(c.reply(), greeting(HOST))
            c.ehlo()
            self.assertRegex(self.transaction(c, MSG), QUEUED_RE)
            infos[client] = tls_info(c)
            self.quit(c)
        self.assertEqual({m['client']: m['tls'] for m in self.captured(d, 2)}, infos)
        self.assertRejected(d)
        self.stop(d)


class TestRejected(ProxyTest):
    def test_trusted_peers_without_a_good_header(self):
        d = self.begin_proxy('127.0.0.0/8', '::1', smtps=True, extra=('--idle-timeout', '1s'))
        self.assertClosedSilently(d, b'EHLO client.test\r\n')                       # not_proxy
        self.assertClosedSilently(d, b'PROXY TCP4 192.0.2.1 198.51.100.1 1\r\n')   # bad_v1
        self.assertClosedSilently(d, b'PROXY TCP4 192.0.2.1 198.51.100.1 1 2 3\r\n')  # bad_v1
        bad_sig = bytearray(v2('192.0.2.1', 1))
        bad_sig[11] ^= 0x01                                                        # "QUIT\x0b": not_proxy
        self.assertClosedSilently(d, bytes(bad_sig))
        self.assertClosedSilently(d, v2('192.0.2.1', 1, version_command=0x31))     # version 3: bad_v2
        self.assertClosedSilently(d, b'PROXY UNKNOWN ' + b'a' * 120)                # no CR LF in 107: too_long
        self.assertClosedSilently(d, b'PROX', shut_write=True)                     # eof
        self.assertClosedSilently(d, timeout=4.0)                                  # silent: timeout (1s)
        c = self.connect(d.smtps_ports[0])                                         # a ClientHello: not_proxy
        try:
            wrap(c)
        except (OSError, ConnectionError):
            pass
        c.close()
        deadline = time.monotonic() + 5
        want = dict(not_proxy=3, bad_v1=2, bad_v2=1, too_long=1, eof=1, timeout=1)
        while self.rejected(d) != {r: float(want.get(r, 0)) for r in REASONS} and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertRejected(d, **want)
        self.assertEqual(self.captured(d, 0), [])
        totals = self.stop(d)
        self.assertEqual(totals['transactions'], 0)

    def test_peers_outside_the_networks(self):
        d = self.begin_proxy('10.0.0.0/8', '2001:db8::/32')
        self.assertClosedSilently(d)
        self.assertClosedSilently(d, v1('192.0.2.1', 1))
        self.assertClosedSilently(d, b'EHLO client.test\r\n')
        self.assertRejected(d, untrusted=3)
        self.stop(d)


class TestFlag(ProxyTest):
    def test_bad_networks_exit_2_naming_the_flag(self):
        for bad in ('10.0.0.1/8', '10.0.0.0/33', 'example.net', '10.0.0.0/08'):
            self.assertExit2OneLine(['--proxy-protocol-from', bad])
            self.assertIn('--proxy-protocol-from', run_binary(['--proxy-protocol-from', bad]).stderr.decode())
        p = run_binary([], env={'SMTP_BLACKHOLE_PROXY_PROTOCOL_FROM': '10.0.0.0/8,nonsense'})
        self.assertEqual(p.returncode, 2, p)
        self.assertIn('SMTP_BLACKHOLE_PROXY_PROTOCOL_FROM', p.stderr.decode())

    def test_from_the_environment(self):
        d = self.begin(env={'SMTP_BLACKHOLE_PROXY_PROTOCOL_FROM': '10.0.0.0/8,127.0.0.1'})
        self.proxied_delivery(d, v1('192.0.2.40', 40040))
        self.assertEqual([m['client'] for m in self.captured(d, 1)], ['192.0.2.40:40040'])
        self.stop(d)


def tlv(kind: int, value: bytes) -> bytes:
    return bytes([kind]) + struct.pack('!H', len(value)) + value


def v2_with_tlvs(src: str, sport: int, tlvs: bytes, family: int = 0x11) -> bytes:
    """A v2 PROXY header for TCP over IPv4 (or another `family` byte) followed by TLVs."""
    block = ipaddress.ip_address(src).packed + ipaddress.ip_address('198.51.100.1').packed + struct.pack('!HH', sport, 25)
    return V2_SIGNATURE + bytes([0x21, family]) + struct.pack('!H', len(block) + len(tlvs)) + block + tlvs


class TestHeaderEdges(ProxyTest):
    def test_a_long_v2_header_grows_the_buffer_and_a_longer_one_is_refused(self):
        d = self.begin_proxy('127.0.0.1')
        long_header = v2_with_tlvs('192.0.2.77', 7777, tlv(0x04, b'n' * 9000))  # PP2_TYPE_NOOP: 9 KiB
        self.assertGreater(len(long_header), 9000)
        self.proxied_delivery(d, long_header)
        self.assertEqual([m['client'] for m in self.captured(d, 1)], ['192.0.2.77:7777'])
        too_long = v2_with_tlvs('192.0.2.78', 7778, tlv(0x04, b'n' * 17000))  # past the 16 KiB bound
        self.assertClosedSilently(d, too_long)
        self.assertRejected(d, too_long=1)
        self.stop(d)

    def test_a_datagram_header_is_unsupported(self):
        d = self.begin_proxy('127.0.0.1')
        self.assertClosedSilently(d, v2_with_tlvs('192.0.2.79', 53, b'', family=0x12))  # UDP over IPv4
        self.assertRejected(d, unsupported=1)
        totals = self.stop(d)
        self.assertEqual(totals['proxy_rejected_unsupported'], 1)
        self.assertNotIn('proxy_rejected_eof', totals)

    def test_sigterm_while_a_header_is_pending_closes_at_once(self):
        d = self.begin_proxy('127.0.0.1', extra=('--idle-timeout', '60s'))
        c = self.connect(d)
        c.send(b'PROXY TCP4 192.0.2.1')  # half a header; its deadline is 5 s away
        d.wait_line(lambda l: parse_kv(l).get('msg') == 'connection open', 5)  # accepted: its header is pending
        t0 = time.monotonic()
        stopped = d.stop()
        self.assertLess(time.monotonic() - t0, 3.0, 'the drain waited for the header')
        self.assertEqual(stopped.returncode, 0, stopped.lines[-10:])
        c.sock.settimeout(5)
        self.assertEqual(c.sock.recv(100), b'', 'closed without a greeting')
        c.close()
        self.assertEqual(stopped.totals['transactions'], 0)
