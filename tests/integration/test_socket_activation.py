"""Socket activation without systemd: systemd-socket-activate binds the sockets, passes them as real LISTEN_FDS
named by --fdname, and starts the daemon at the first connection, which the daemon then serves. Every worker
accepts on a passed socket; a kind with passed sockets binds none of its --*-listen addresses, the other kinds
bind theirs; a socket with an unknown name, or one that is not a listening TCP socket, is one line and exit 2."""
import os
import socket
import tempfile

from daemon import listen_endpoints
from http_client import http_request
from parsers import parse_kv
from replies import BYE, QUEUED_RE, greeting
from systemd_support import ActivationTest, after_exec, free_ports
from tlsutil import wrap

MESSAGE = b'Subject: activated\r\n\r\nbody\r\n'


def listening(lines: list[str]) -> list[tuple[str, str | None]]:
    """(msg, activated) of each `listening PROTO ADDR:PORT` line."""
    return [(kv['msg'], kv.get('activated')) for kv in map(parse_kv, lines)
            if kv.get('msg', '').startswith('listening ')]


def not_bound(lines: list[str]) -> list[tuple[str, str]]:
    """(msg, skipped) of each line saying that systemd's sockets replace a kind's --*-listen addresses."""
    return [(kv['msg'], kv['skipped']) for kv in map(parse_kv, lines) if kv.get('msg', '').startswith('systemd ')]


class TestSocketActivation(ActivationTest):
    def test_smtp_and_http_from_systemd_on_every_worker(self):
        smtp_port, http_port = free_ports(2)
        n = self.notify_socket()
        d = self.activated([(f'127.0.0.1:{smtp_port}', 'smtp'), (f'127.0.0.1:{http_port}', 'http')],
                           '--threads', '2', activator_flags=('-E', f'NOTIFY_SOCKET={n.address}'))
        # The connection that starts the daemon waits in the passed socket's backlog and is served.
        first = self.session(smtp_port)
        d.await_start(1, 1)
        self.assertRegex(self.transaction(first, MESSAGE), QUEUED_RE)
        self.quit(first)
        lines = after_exec(d.lines)
        self.assertEqual(listening(lines), [(f'listening smtp 127.0.0.1:{smtp_port}', 'systemd'),
                                            (f'listening http 127.0.0.1:{http_port}', 'systemd')])
        self.assertEqual(not_bound(lines), [
            ('systemd passed the smtp sockets: --smtp-listen not bound', '127.0.0.1:2525'),
            ('systemd passed the http sockets: --http-listen not bound', '127.0.0.1:8025')])
        self.assertEqual(self.flow(d, '_default')['messages'], 1)
        self.assertEqual(http_request(http_port, 'GET', '/readyz').status, 200)
        self.assertTrue(n.wait_for(len, 5, 'READY=1')[0].startswith('READY=1\nSTATUS=connections active '), n.messages)
        # One socket, two workers: each takes connections from it.
        for _ in range(40):
            self.quit(self.session(d))
        workers = [kv.get('worker') for kv in map(parse_kv, d.lines) if kv.get('msg') == 'connection open']
        self.assertEqual(len(workers), 41)
        self.assertEqual(set(workers), {'0', '1'})
        totals = self.stop(d)
        self.assertTotals(totals, {220: 41, 221: 41, 250: 41 + 3, 354: 1}, connections=41, transactions=1)
        # The daemon held the only copies of the sockets.
        for port in (smtp_port, http_port):
            with self.assertRaises(ConnectionRefusedError):
                socket.create_connection(('127.0.0.1', port), timeout=2).close()

    def test_smtps_and_mailpit_from_systemd_beside_bound_listeners(self):
        smtps_port, mailpit_port = free_ports(2)
        d = self.activated([(f'127.0.0.1:{smtps_port}', 'smtps'), (f'127.0.0.1:{mailpit_port}', 'mailpit')],
                           listen=('127.0.0.1:0',), http=('127.0.0.1:0',))
        c = self.connect(smtps_port)
        wrap(c)
        self.assertEqual(c.reply(), greeting())
        self.assertEqual(c.cmd('QUIT'), BYE)
        c.close()
        d.await_start(1, 1)
        lines = after_exec(d.lines)
        self.assertEqual(listening(lines), [(f'listening smtp 127.0.0.1:{d.port}', None),
                                            (f'listening smtps 127.0.0.1:{smtps_port}', 'systemd'),
                                            (f'listening http 127.0.0.1:{d.http_port}', None),
                                            (f'listening mailpit 127.0.0.1:{mailpit_port}', 'systemd')])
        self.assertEqual(not_bound(lines), [])
        self.assertEqual([p for _, p in listen_endpoints(lines, 'mailpit')], [mailpit_port])
        self.assertEqual(http_request(mailpit_port, 'GET', '/readyz').status, 200)
        self.quit(self.session(d))
        totals = self.stop(d)
        self.assertEqual((totals['connections'], totals['tls_handshakes']), (2, 1))

    def test_a_bad_socket_is_one_line_and_exit_2(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        path = os.path.join(tmp.name, 'smtp.sock')
        ports = free_ports(4)

        def tcp(port):
            return lambda: socket.create_connection(('127.0.0.1', port), timeout=2).close()

        def udp(port):
            def send():
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.sendto(b'x', ('127.0.0.1', port))
            return send

        def unix():
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(path)

        cases = [  # sockets, activator flags, what starts it, the error
            ([(f'127.0.0.1:{ports[0]}', 'smtp'), (f'127.0.0.1:{ports[1]}', 'imap')], (), tcp(ports[0]),
             'fd 4 (imap) has an unknown name: FileDescriptorName= must be smtp, smtps, http or mailpit'),
            ([(f'127.0.0.1:{ports[2]}', 'smtp-blackhole.socket')], (), tcp(ports[2]),
             'fd 3 (smtp-blackhole.socket) has an unknown name: FileDescriptorName= must be smtp, smtps, http or '
             'mailpit'),
            ([(path, 'smtp')], (), unix, 'fd 3 (smtp) is not a listening TCP socket'),
            ([(f'127.0.0.1:{ports[3]}', 'http')], ('--datagram',), udp(ports[3]),
             'fd 3 (http) is not a listening TCP socket'),
        ]
        for sockets, flags, start, error in cases:
            with self.subTest(sockets=sockets):
                d = self.activated(sockets, activator_flags=flags)
                start()
                s = d.wait(10)
                self.assertEqual(s.returncode, 2, s.lines)
                self.assertEqual(after_exec(s.lines),
                                 [f'smtp-blackhole: cannot start: the socket systemd passed as {error}'])
