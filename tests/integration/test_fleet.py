"""A fleet: three sinks behind a real HAProxy (Debian's haproxy package; mode tcp, send-proxy-v2, health checks on
/readyz), driven by the load generator through HAProxy and scraped by a real Prometheus. The per-flow sums over
the three sinks are exact (by --verify and by README's PromQL), each sink took only PROXY connections and
captured the load generator's address, and a rolling restart under load
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

from api import FlowTest
from daemon import Daemon
from fleet_support import BALANCER_SOURCE, HAProxy, Prometheus, binary, by_label, free_port
from http_client import http_request
from loadgen_support import LoadgenTest, loadgen_binary
from parsers import parse_kv
from replies import HOST

SINKS = 3
FLOWS = 4
TOTALS = 'sum by (flow) (smtp_blackhole_flow_messages_total)'  # README's per-flow totals across the fleet
RATES = 'sum by (flow) (rate(smtp_blackhole_flow_messages_total[5s]))'


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
        for engine in ('haproxy', 'prometheus'):
            if not os.access(binary(engine), os.X_OK):
                self.fail(f'{engine} is not installed (scripts/install-deps.sh test installs it)')
        self.dir = tempfile.mkdtemp(prefix='fleet-')
        self.addCleanup(shutil.rmtree, self.dir, True)

    def sink(self, smtp: int, http: int) -> Daemon:
        return self.start('--hostname', HOST, '--threads', '1', '--proxy-protocol-from', f'{BALANCER_SOURCE}/32',
                          listen=(f'127.0.0.1:{smtp}',), http=(f'127.0.0.1:{http}',))

    def engine(self, e):
        self.addCleanup(e.stop)
        return e

    def test_three_sinks_behind_haproxy_exact_sums_and_a_rolling_restart(self):
        ports = [(free_port(), free_port()) for _ in range(SINKS)]
        names = [f'sink{i + 1}' for i in range(SINKS)]
        sinks = [self.sink(*p) for p in ports]
        front = free_port()
        h = self.engine(HAProxy(front, ports, self.dir))
        h.wait_up(set(names))
        verify = [a for d in sinks for a in ('--verify', f'http://127.0.0.1:{d.http_port}')]
        flows = {f'load-{i}' for i in range(FLOWS)}

        # 1. Steady load: connections of 10 messages, spread over the sinks round robin; --verify sums the three.
        n = 3000
        r, _, _ = self.run_json('--target', f'127.0.0.1:{front}', '--pipelining', '--messages', n, '--connections', 6,
                                '--threads', 1, '--messages-per-connection', 10, '--flows', FLOWS, *verify, '--reset')
        self.assertEqual(r['verify'], {'ok': True, 'differences': []}, r)
        self.assertEqual((r['accepted'], r['lost'], r['refused']), (n, 0, 0), r)
        self.assertEqual(r['flows'], {f: n // FLOWS for f in flows}, r)
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
        # Prometheus scrapes the three; README's query gives the fleet's per-flow totals, exact.
        prom = self.engine(Prometheus([http for _, http in ports], self.dir))
        prom.wait_for('count(up{job="smtp-blackhole"} == 1)', lambda res: by_label(res, '') == {'': SINKS})
        totals = prom.wait_for(TOTALS, lambda res: len(res) == FLOWS)
        self.assertEqual(by_label(totals, 'flow'), {f: n // FLOWS for f in flows})

        # 2. A rolling restart under load: the load generator retries what a restart cuts.
        for d in sinks:
            http_request(d.http_port, 'DELETE', '/api/v1/flows')
        m = 15000  # 10 s at --rate 1500: three restarts fit well inside
        load = subprocess.Popen([loadgen_binary(), '--target', f'127.0.0.1:{front}', '--pipelining',
                                 '--messages', str(m), '--rate', '1500', '--connections', '12', '--threads', '1',
                                 '--messages-per-connection', '20', '--flows', str(FLOWS), '--retries', '20',
                                 '--timeout', '10s', '--max-error-rate', '1', '--json', '--quiet'],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: load.poll() is None and (load.kill(), load.wait(5)))
        # README's rate query sees every flow move while the load runs.
        rates = prom.wait_for(RATES, lambda res: len(res) == FLOWS and min(by_label(res, 'flow').values()) > 0)
        self.assertEqual(set(by_label(rates, 'flow')), flows)
        counted: dict[str, int] = {}
        for i, (smtp, http) in enumerate(ports):
            stopped = sinks[i].stop(signal.SIGTERM)
            self.assertEqual(stopped.returncode, 0, stopped.lines[-20:])
            before = flow_totals(stopped.lines)
            self.assertGreater(sum(before.values()), 0, f'{names[i]} counted nothing before its restart')
            add(counted, before)
            h.wait_up(set(names) - {names[i]})
            sinks[i] = self.sink(smtp, http)
            h.wait_up(set(names))
            time.sleep(0.5)  # the restarted sink takes load again before the next one goes
        self.assertIsNone(load.poll(), 'the load ended before the last restart: the restart was not under load')
        out, err = load.communicate(timeout=60)
        self.assertEqual(load.returncode, 0, err.decode())
        r = json.loads(out)
        self.assertEqual((r['accepted'], r['refused'], r['lost']), (m, 0, 0), r)
        self.assertEqual(r['sent'], m + r['retried']['total'], r)  # every attempt ended one way or another
        self.assertEqual(r['flows'], {f: m // FLOWS for f in flows}, r)
        self.assertGreater(r['errors']['connection'], 0, f'no restart reached the load generator: {r}')
        for d in sinks:  # the restarted sinks took load after their restart
            self.assertGreater(sum(flows_of(d).values()), 0, d.lines[-20:])
            add(counted, flows_of(d))
        # Every message delivered is counted by exactly one sink: none lost, none twice.
        self.assertEqual(counted, r['flows'], (counted, r))
        # HAProxy took each sink out once (its /readyz said 503 or its port was gone) and back in.
        s = h.servers()
        self.assertEqual({k: (row['status'], row['chkdown']) for k, row in s.items()},
                         {k: ('UP', '1') for k in names}, s)
        for d in sinks:
            self.stop(d)
