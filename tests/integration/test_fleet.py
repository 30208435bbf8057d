"""A fleet: three sinks behind a real HAProxy (Debian's haproxy package; mode tcp, send-proxy-v2, health checks on
/readyz), driven by the load generator through HAProxy. The per-flow sums over the three sinks are exact, each
sink took only PROXY connections and captured the load generator's address, and a rolling restart under load
(SIGTERM one sink, start it again on the same ports, then the next) loses nothing and counts nothing twice: what
the load generator counts as delivered is what the live sinks and the `flow totals` lines of the stopped ones
counted. Traffic goes to 127.0.0.1 and 127.0.0.3 (HAProxy's source towards the sinks) only; every wait is
bounded and every process is stopped by its PID."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from daemon import Daemon
from api import FlowTest
from http_client import http_request
from loadgen_support import LoadgenTest, loadgen_binary
from parsers import parse_kv
from replies import HOST

BALANCER_SOURCE = '127.0.0.3'  # HAProxy connects to the sinks from here; only it may send a PROXY header
SINKS = 3
WAIT = 15.0  # seconds: the longest bounded wait for a state change


def haproxy_binary() -> str:
    return shutil.which('haproxy') or '/usr/sbin/haproxy'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def haproxy_config(front: int, stats: str, sinks: list[tuple[int, int]]) -> str:
    """The configuration README's "Running a fleet" shows, on test ports: `sinks` are (smtp, http) ports."""
    servers = ''.join(f'    server sink{i + 1} 127.0.0.1:{smtp} check port {http}\n' for i, (smtp, http) in enumerate(sinks))
    return f"""global
    maxconn 2000
    stats socket {stats} level admin

defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch

frontend smtp
    bind 127.0.0.1:{front}
    default_backend sinks

backend sinks
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 100ms fall 1 rise 1 send-proxy-v2 source {BALANCER_SOURCE}
{servers}"""


class HAProxy:
    """One haproxy process in the foreground (-db), with its stats socket."""

    def __init__(self, config: str, directory: str):
        self.cfg = os.path.join(directory, 'haproxy.cfg')
        with open(self.cfg, 'w') as f:
            f.write(config)
        self.log = open(os.path.join(directory, 'haproxy.log'), 'w+b')
        self.proc = subprocess.Popen([haproxy_binary(), '-db', '-f', self.cfg], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode('utf-8', 'replace')

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGUSR1)  # soft stop
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def stat(socket_path: str) -> dict[str, dict[str, str]]:
    """`show stat` on HAProxy's stats socket: each server of backend sinks by name, as a dict of its columns."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(socket_path)
        s.sendall(b'show stat\n')
        data = b''
        while chunk := s.recv(65536):
            data += chunk
    lines = data.decode().splitlines()
    head = lines[0].lstrip('# ').split(',')
    rows = [dict(zip(head, l.split(','))) for l in lines[1:] if l]
    return {r['svname']: r for r in rows if r['pxname'] == 'sinks' and r['svname'].startswith('sink')}


def flows_of(d: Daemon) -> dict[str, int]:
    r = http_request(d.http_port, 'GET', '/api/v1/flows')
    return {f['flow']: f['messages'] for f in json.loads(r.body)['flows'] if f['messages']}


def flow_totals(lines: list[str]) -> dict[str, int]:
    """What a stopped sink counted: its `flow totals` lines."""
    got = {}
    for kv in map(parse_kv, lines):
        if kv.get('msg') == 'flow totals' and int(kv['messages']):
            got[kv['flow']] = int(kv['messages'])
    return got


def add(into: dict[str, int], counts: dict[str, int]) -> None:
    for k, v in counts.items():
        into[k] = into.get(k, 0) + v


class TestFleet(LoadgenTest, FlowTest):
    def setUp(self):
        super().setUp()
        if not os.access(haproxy_binary(), os.X_OK):
            self.fail('haproxy is not installed (scripts/install-deps.sh test installs it)')
        self.dir = tempfile.mkdtemp(prefix='fleet-')
        self.addCleanup(shutil.rmtree, self.dir, True)

    def sink(self, smtp: int, http: int) -> Daemon:
        return self.start('--hostname', HOST, '--threads', '1', '--proxy-protocol-from', f'{BALANCER_SOURCE}/32',
                          listen=(f'127.0.0.1:{smtp}',), http=(f'127.0.0.1:{http}',))

    def balancer(self, sinks: list[tuple[int, int]]) -> tuple[HAProxy, int, str]:
        front, stats_path = free_port(), os.path.join(self.dir, 'stats.sock')
        h = HAProxy(haproxy_config(front, stats_path, sinks), self.dir)
        self.addCleanup(h.stop)
        self.wait_servers(h, stats_path, {f'sink{i + 1}' for i in range(len(sinks))})
        return h, front, stats_path

    def wait_servers(self, h: HAProxy, stats_path: str, up: set[str]) -> dict[str, dict[str, str]]:
        """Waits (bounded) until exactly the servers in `up` are UP in HAProxy's eyes."""
        deadline = time.monotonic() + WAIT
        while True:
            self.assertIsNone(h.proc.poll(), f'haproxy exited: {h.output()}')
            try:
                s = stat(stats_path)
                if {n for n, r in s.items() if r['status'] == 'UP'} == up:
                    return s
            except (FileNotFoundError, ConnectionRefusedError):
                s = None
            self.assertLess(time.monotonic(), deadline, f'servers UP never became {up}: {s}; {h.output()}')
            time.sleep(0.05)

    def test_three_sinks_behind_haproxy_exact_sums_and_a_rolling_restart(self):
        ports = [(free_port(), free_port()) for _ in range(SINKS)]
        sinks = [self.sink(*p) for p in ports]
        h, front, stats_path = self.balancer(ports)
        verify = [a for d in sinks for a in ('--verify', f'http://127.0.0.1:{d.http_port}')]

        # 1. Steady load: connections of 10 messages, spread over the sinks round robin; --verify sums the three.
        n = 3000
        r, _, _ = self.run_json('--target', f'127.0.0.1:{front}', '--pipelining', '--messages', n, '--connections', 6,
                                '--threads', 1, '--messages-per-connection', 10, '--flows', 4, *verify, '--reset')
        self.assertEqual(r['verify'], {'ok': True, 'differences': []}, r)
        self.assertEqual((r['accepted'], r['lost'], r['refused']), (n, 0, 0), r)
        self.assertEqual(r['flows'], {f'load-{i}': n // 4 for i in range(4)}, r)
        per_sink = [sum(flows_of(d).values()) for d in sinks]
        self.assertEqual(sum(per_sink), n, per_sink)
        for got in per_sink:  # round robin over 300 connections of 10
            self.assertTrue(700 <= got <= 1300, per_sink)
        # Each sink took HAProxy's connections only, and captured the load generator's address from the header.
        for d in sinks:
            headers = [kv for kv in map(parse_kv, d.lines) if kv.get('msg') == 'proxy header']
            self.assertGreater(len(headers), 0, d.lines[-20:])
            self.assertEqual({kv['peer'].rpartition(':')[0] for kv in headers}, {BALANCER_SOURCE})
            self.assertEqual({kv['client'].rpartition(':')[0] for kv in headers}, {'127.0.0.1'})
            self.assertEqual({kv['version'] for kv in headers}, {'2'})
            clients = {m['client'].rpartition(':')[0] for m in self.captured(d, 1)}
            self.assertEqual(clients, {'127.0.0.1'})
        # A connection straight to a sink, not from the balancer, is refused before the greeting.
        with socket.create_connection(('127.0.0.1', sinks[0].port), timeout=5) as c:
            self.assertEqual(c.recv(100), b'')

        # 2. A rolling restart under load: the load generator retries what a restart cuts.
        for d in sinks:
            http_request(d.http_port, 'DELETE', '/api/v1/flows')
        m = 12000
        load = subprocess.Popen([loadgen_binary(), '--target', f'127.0.0.1:{front}', '--pipelining',
                                 '--messages', str(m), '--rate', '1500', '--connections', '12', '--threads', '1',
                                 '--messages-per-connection', '20', '--flows', '4', '--retries', '20', '--timeout', '10s',
                                 '--max-error-rate', '1', '--json', '--quiet'],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: load.poll() is None and (load.kill(), load.wait(5)))
        counted: dict[str, int] = {}
        time.sleep(1.0)
        for i, (smtp, http) in enumerate(ports):
            name = f'sink{i + 1}'
            stopped = sinks[i].stop(signal.SIGTERM)
            self.assertEqual(stopped.returncode, 0, stopped.lines[-20:])
            before = flow_totals(stopped.lines)
            self.assertGreater(sum(before.values()), 0, f'{name} counted nothing before its restart')
            add(counted, before)
            self.wait_servers(h, stats_path, {f'sink{j + 1}' for j in range(SINKS) if j != i})
            sinks[i] = self.sink(smtp, http)
            self.wait_servers(h, stats_path, {f'sink{j + 1}' for j in range(SINKS)})
            time.sleep(0.5)  # the restarted sink takes load again before the next one goes
        self.assertIsNone(load.poll(), 'the load ended before the last restart: the restart was not under load')
        out, err = load.communicate(timeout=60)
        self.assertEqual(load.returncode, 0, err.decode())
        r = json.loads(out)
        self.assertEqual((r['accepted'], r['refused'], r['lost']), (m, 0, 0), r)
        self.assertEqual(r['sent'], m + r['retried']['total'], r)  # every attempt ended one way or another
        self.assertEqual(r['flows'], {f'load-{i}': m // 4 for i in range(4)}, r)
        self.assertGreater(r['errors']['connection'], 0, f'no restart reached the load generator: {r}')
        for d in sinks:  # the restarted sinks took load after their restart
            self.assertGreater(sum(flows_of(d).values()), 0, d.lines[-20:])
            add(counted, flows_of(d))
        # Every message delivered is counted by exactly one sink: none lost, none twice.
        self.assertEqual(counted, r['flows'], (counted, r))
        # HAProxy took each sink out once (its /readyz said 503 or its port was gone) and back in.
        s = stat(stats_path)
        self.assertEqual({n: (row['status'], row['chkdown']) for n, row in s.items()},
                         {f'sink{i + 1}': ('UP', '1') for i in range(SINKS)}, s)
        for d in sinks:
            self.stop(d)
