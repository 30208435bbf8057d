"""Type=notify without systemd: the test owns the NOTIFY_SOCKET and checks every notification, its exact text, its
order and its sender: READY=1 once every listener answers, with a STATUS= that is refreshed every 5 s
(messages/s over the last interval), RELOADING=1 (with MONOTONIC_USEC=) then READY=1 around SIGHUP's reload,
STOPPING=1 with a draining STATUS= at SIGTERM or SIGINT, WATCHDOG=1 every half WATCHDOG_USEC when WATCHDOG_PID is the daemon's and
none when it names another process. A NOTIFY_SOCKET that leads nowhere changes nothing."""
import os
import re
import signal
import tempfile
import time

from daemon import START_TIMEOUT
from http_client import http_request
from parsers import parse_kv
from systemd_support import WATCHDOG_PID_IS_OWN, ActivationTest, free_ports

STATUS_INTERVAL = 5.0  # seconds: systemd::status_interval
MESSAGE = b'Subject: counted\r\n\r\nbody\r\n'


def status(active: int, transactions: int, rate: str, draining: bool = False) -> str:
    return (f'STATUS={"draining: " if draining else ""}connections active {active}, transactions {transactions}, '
            f'messages/s {rate}')


READY = 'READY=1\n' + status(0, 0, '0.0')  # the status at READY=1 comes with it, in one message


class TestNotify(ActivationTest):
    def assertSentBy(self, n, pid: int) -> None:
        self.assertEqual({p for _, p in n.messages}, {pid}, f'senders of {n.messages}')

    def test_every_notification_in_order(self):
        n = self.notify_socket()
        smtp_port, http_port = free_ports(2)
        d = self.begin('--threads', '2', listen=(f'127.0.0.1:{smtp_port}',), http=(f'127.0.0.1:{http_port}',),
                       env=n.env(), wait_started=False)
        self.assertEqual(n.wait_for(len, START_TIMEOUT, 'READY=1')[0], READY)
        # Ready means serving: both listeners answer at once, an SMTP session from a worker that runs.
        held = self.session(smtp_port)
        self.assertEqual(http_request(http_port, 'GET', '/readyz').status, 200)
        d.await_start(1, 1)
        self.assertEqual((d.port, d.http_port), (smtp_port, http_port))
        for _ in range(3):
            self.deliver(d, MESSAGE)
        # The next refresh: `held` open, 3 messages in the 5 s since READY.
        texts = n.wait_for(lambda ts: len(ts) >= 2, STATUS_INTERVAL + 3, 'the refreshed STATUS=')
        self.assertEqual(texts, [READY, status(1, 3, '0.6')])
        before = time.monotonic_ns() // 1000
        d.send_signal(signal.SIGHUP)
        texts = n.wait_count('READY=1', 1, 5)
        after = time.monotonic_ns() // 1000
        self.assertEqual(len(texts), 4, texts)
        m = re.fullmatch(r'RELOADING=1\nMONOTONIC_USEC=(\d+)', texts[2])
        self.assertIsNotNone(m, texts)
        self.assertTrue(before <= int(m[1]) <= after, (before, m[1], after))
        self.assertEqual(texts[3], 'READY=1')
        d.wait_line(lambda l: parse_kv(l).get('msg') == 'TLS certificate reloaded', 5)
        # The drain: `held` is told 421 and the daemon ends with it.
        d.send_signal(signal.SIGTERM)
        self.expect_shutdown(held)
        s = d.wait(10)
        self.assertEqual(s.returncode, 0, s.lines)
        self.assertEqual(s.totals['transactions'], 3)
        self.assertEqual(n.texts()[4:], ['STOPPING=1\n' + status(1, 3, '0.6', draining=True)])
        self.assertSentBy(n, d.pid)

    def test_watchdog_keep_alive_every_half_watchdog_usec(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        n = self.notify_socket(os.path.join(tmp.name, 'notify'))
        d = self.begin('--threads', '2', env={**n.env(), 'WATCHDOG_USEC': '300000'}, launcher=WATCHDOG_PID_IS_OWN)
        n.wait_count('WATCHDOG=1', 8, 5)
        texts = n.texts()
        self.assertEqual(texts[:2], [READY, 'WATCHDOG=1'])
        self.assertEqual(set(texts[2:]), {'WATCHDOG=1'}, texts)
        pings = [t for (text, _), t in zip(n.messages, n.arrived) if text == 'WATCHDOG=1'][:8]
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        # Every 150 ms: a timer fires no earlier, and a missed beat would show as a gap of 300 ms.
        self.assertTrue(all(0.12 < g < 0.29 for g in gaps), gaps)
        self.assertLess(sum(gaps) / len(gaps), 0.2, gaps)
        self.assertSentBy(n, d.pid)
        self.assertEqual(self.stop(d)['connections'], 0)

    def test_no_watchdog_for_another_process(self):
        n = self.notify_socket()
        env = {**n.env(), 'WATCHDOG_USEC': '300000', 'WATCHDOG_PID': str(os.getpid())}
        d = self.begin(env=env)
        n.wait_for(len, 5, 'READY=1')
        time.sleep(1.0)  # six keep-alives' time
        self.stop(d, signal.SIGINT)
        self.assertEqual(n.texts(), [READY, 'STOPPING=1\n' + status(0, 0, '0.0', draining=True)])
        self.assertSentBy(n, d.pid)

    def test_a_notify_socket_that_leads_nowhere_changes_nothing(self):
        env = {'NOTIFY_SOCKET': '/nonexistent/smtp-blackhole/notify', 'WATCHDOG_USEC': '300000'}
        d = self.begin(env=env)
        self.deliver(d, MESSAGE)
        d.send_signal(signal.SIGHUP)
        d.wait_line(lambda l: parse_kv(l).get('msg') == 'TLS certificate reloaded', 5)
        self.assertEqual(self.flow(d, '_default')['messages'], 1)
        self.assertEqual(self.stop(d)['transactions'], 1)
