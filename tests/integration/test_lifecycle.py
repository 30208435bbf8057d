"""The daemon's life: exact counts under concurrency, connection limit, idle and data timeouts, drain on SIGTERM
and SIGINT, the drain timeout, IPv6 and several listeners, flag errors, port in use, --help/--version, and
the descriptor limit raised at start (exhaustion: test_descriptor_exhaustion.py)."""
import os
import resource
import signal
import smtplib
import socket
import threading
import time

from http_client import http_request, metric, parse_prometheus
from daemon import run_binary
from daemon_test import DaemonTest
from messages import make_message
from parsers import parse_kv
from replies import (BYE, DATA_GO, HOST, MAIL_OK, NOOP_OK, QUEUED_RE, RCPT_OK, SHUTTING_DOWN, TIMEOUT, ehlo_reply,
                     greeting)


class LifecycleTest(DaemonTest):
    def open_transaction(self, c, rcpts=1):
        """MAIL and RCPT on an EHLO'd session: a transaction is open."""
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        for i in range(rcpts):
            self.assertEqual(c.cmd(f'RCPT TO:<r{i}@test>'), RCPT_OK)

    def finish_data(self, c, body=b'Subject: x\r\n\r\nbody\r\n'):
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        c.send(body + b'.\r\n')
        self.assertRegex(c.reply(), QUEUED_RE)
        return len(body)

    def expect_timeout_reply(self, c, what, low=0.8, high=2.5):
        """The 421 timeout reply arrives between low and high seconds from now, then the close."""
        t0 = time.monotonic()
        try:
            got = c.reply(timeout=high + 1.5)
        except socket.timeout:
            self.fail(f'{what}: no timeout reply within {high + 1.5}s')
        waited = time.monotonic() - t0
        self.assertEqual(got, TIMEOUT)
        self.assertGreater(waited, low, f'{what}: timed out too early')
        self.assertLess(waited, high, f'{what}: timed out too late ({waited:.2f}s)')
        c.expect_closed()

    def check_exit(self, s, max_elapsed=None):
        """A daemon that exited by itself after a signal: code 0, one totals line, last."""
        self.assertEqual(s.returncode, 0, f'stderr: {s.lines}')
        self.assertEqual(len(s.totals_lines), 1, f'stderr: {s.lines}')
        self.assertEqual(s.lines[-1], s.totals_lines[0])
        if max_elapsed is not None:
            self.assertLess(s.elapsed, max_elapsed, f'exit took {s.elapsed:.2f}s')
        return s.totals


class TestConcurrency(LifecycleTest):
    def test_8_threads_x_50_messages_exact(self):
        d = self.start('--hostname', HOST, '--threads', '2')
        sizes = [[] for _ in range(8)]
        errors = []

        def client(k):
            try:
                with smtplib.SMTP('127.0.0.1', d.port, local_hostname=f'c{k}.test', timeout=30) as s:
                    for i in range(50):
                        msg = make_message(f'{k}-{i}', 150 + (k * 50 + i) * 13 % 900)
                        refused = s.sendmail(f's{k}@test', [f'a{k}.{i}@test', f'b{k}.{i}@test'], msg)
                        if refused:
                            raise AssertionError(f'refused: {refused}')
                        sizes[k].append(len(msg))
            except Exception as e:  # reported below
                errors.append((k, repr(e)))

        threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(8)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 90
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self.assertFalse(any(t.is_alive() for t in threads), 'client threads did not finish in time')
        self.assertEqual(errors, [])
        self.assertEqual(sum(len(s) for s in sizes), 400)
        t = self.stop(d)
        self.assertTotals(t, {220: 8, 250: 8 * (1 + 50 * 4), 354: 400, 221: 8}, connections=8,
                          connections_refused=0, transactions=400, recipients=800,
                          bytes=sum(map(sum, sizes)), refused=0, smuggling_suspects=0)


class TestConnectionLimit(LifecycleTest):
    def test_max_connections(self):
        d = self.start('--hostname', HOST, '--max-connections', '2')
        c1 = self.session(d)
        c2 = self.session(d)
        c3 = self.connect(d)
        got = c3.reply()
        self.assertTrue(got.startswith('421 4.3.2 ') and '\n' not in got, got)
        c3.expect_closed()
        c3.close()
        # c1 leaves; its slot comes back (the release is asynchronous: bounded retries, each one counted).
        self.quit(c1)
        extra_refused = 0
        c4 = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            c = self.connect(d)
            got = c.reply()
            if got.startswith('220 '):
                c4 = c
                break
            self.assertTrue(got.startswith('421 4.3.2 '), got)
            c.expect_closed()
            c.close()
            extra_refused += 1
            time.sleep(0.05)
        self.assertIsNotNone(c4, 'no slot came back within 5s after a session ended')
        self.assertEqual(c4.ehlo(), ehlo_reply(HOST))
        self.open_transaction(c4)
        n = self.finish_data(c4)
        self.quit(c4)
        self.assertEqual(c2.cmd('NOOP'), NOOP_OK)
        m = parse_prometheus(http_request(d.http_port, 'GET', '/metrics').body.decode())
        self.assertEqual(metric(m, 'smtp_blackhole_connections_refused_total'), 1 + extra_refused)
        self.assertEqual(metric(m, 'smtp_blackhole_connections_total'), 4 + extra_refused)
        t = self.stop(d)
        self.assertTotals(t, {220: 3, 250: 3 + 3 + 1, 354: 1, 221: 2, 421: 1 + extra_refused},
                          connections=4 + extra_refused, connections_refused=1 + extra_refused, transactions=1,
                          recipients=1, bytes=n, refused=1 + extra_refused)

    def test_finished_session_frees_its_slot_within_linger_time(self):
        # After QUIT the daemon half-closes and waits for the client to close, for linger_time (2s,
        # src/server/connection.hpp). A client that never closes must not hold its slot much longer.
        d = self.start('--hostname', HOST, '--max-connections', '1', '--idle-timeout', '60s')
        c1 = self.session(d)
        self.assertEqual(c1.cmd('QUIT'), BYE)
        c1.expect_closed()  # our side stays open
        t0 = time.monotonic()
        accepted = None
        refusals = 0
        while time.monotonic() - t0 < 6:
            c = self.connect(d)
            got = c.reply()
            if got.startswith('220 '):
                accepted = time.monotonic() - t0
                break
            c.expect_closed()
            c.close()
            refusals += 1
            time.sleep(0.2)
        self.assertIsNotNone(accepted, f'the slot of a session that ended with QUIT was still taken after 6s '
                                       f'({refusals} connections refused)')


class TestTimeouts(LifecycleTest):
    def test_idle_timeout(self):
        d = self.start('--hostname', HOST, '--idle-timeout', '1s')
        c = self.session(d)
        for _ in range(3):  # activity keeps the session alive past 1s
            time.sleep(0.6)
            self.assertEqual(c.cmd('NOOP'), NOOP_OK)
        self.expect_timeout_reply(c, '--idle-timeout 1s')
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 4, 421: 1}, connections=1, transactions=0, refused=1)

    def test_data_timeout_inside_body(self):
        d = self.start('--hostname', HOST, '--idle-timeout', '30s', '--data-timeout', '1s')
        c = self.session(d)
        self.open_transaction(c)
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        c.send(b'Subject: slow\r\n\r\npartial line')
        self.expect_timeout_reply(c, 'silence inside a body, --data-timeout 1s --idle-timeout 30s')
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 3, 354: 1, 421: 1}, transactions=0, recipients=0, bytes=0,
                          refused=1)

    def test_data_timeout_applies_right_after_354(self):
        d = self.start('--hostname', HOST, '--idle-timeout', '30s', '--data-timeout', '1s')
        c = self.session(d)
        self.open_transaction(c)
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        self.expect_timeout_reply(c, 'silence right after 354, --data-timeout 1s --idle-timeout 30s')
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 3, 354: 1, 421: 1}, transactions=0, refused=1)

    def test_idle_timeout_does_not_cut_a_body(self):
        d = self.start('--hostname', HOST, '--idle-timeout', '1s', '--data-timeout', '30s')
        c = self.session(d)
        self.open_transaction(c)
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        c.expect_silence(2.0)  # inside DATA only --data-timeout (30s) applies
        c.send(b'Subject: thinking\r\n\r\ndone\r\n.\r\n')
        self.assertRegex(c.reply(), QUEUED_RE)
        self.quit(c)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 4, 354: 1, 221: 1}, transactions=1,
                          bytes=len(b'Subject: thinking\r\n\r\ndone\r\n'))

    def test_idle_timeout_applies_after_a_message(self):
        d = self.start('--hostname', HOST, '--idle-timeout', '30s', '--data-timeout', '1s')
        c = self.session(d)
        self.open_transaction(c)
        n = self.finish_data(c)
        c.expect_silence(2.0)  # back between commands: only --idle-timeout (30s) applies
        self.assertEqual(c.cmd('NOOP'), NOOP_OK)
        self.quit(c)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 5, 354: 1, 221: 1}, transactions=1, bytes=n)


class TestDrain(LifecycleTest):
    def test_sigterm_drains(self):
        d = self.start('--hostname', HOST, '--threads', '2', '--drain-timeout', '10s')
        idle = self.session(d)
        after_rcpt = self.session(d)
        self.open_transaction(after_rcpt, rcpts=2)
        after_mail = self.session(d)
        self.assertEqual(after_mail.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        in_data = self.session(d)
        self.open_transaction(in_data)
        self.assertEqual(in_data.cmd('DATA'), DATA_GO)
        in_data.send(b'Subject: half\r\n\r\nfirst half ')
        t0 = time.monotonic()
        d.send_signal(signal.SIGTERM)
        # The idle session is told at once.
        self.assertEqual(idle.reply(timeout=5), SHUTTING_DOWN)
        idle.expect_closed()
        idle.close()
        # Open transactions may finish; each then gets 250 and 421.
        n1 = self.finish_data(after_rcpt, b'Subject: one\r\n\r\nfinished after SIGTERM\r\n')
        self.expect_shutdown(after_rcpt)
        in_data.send(b'second half\r\n.\r\n')
        self.assertRegex(in_data.reply(), QUEUED_RE)
        self.expect_shutdown(in_data)
        self.assertEqual(after_mail.cmd('RCPT TO:<late@test>'), RCPT_OK)
        n3 = self.finish_data(after_mail, b'late\r\n')
        self.expect_shutdown(after_mail)
        s = d.wait(8)
        t = self.check_exit(s, max_elapsed=8)
        self.assertLess(time.monotonic() - t0, 8, 'exit waited for the drain timeout')
        n2 = len(b'Subject: half\r\n\r\nfirst half second half\r\n')
        self.assertTotals(t, {220: 4, 250: 4 + 4 + 3 + 3, 354: 3, 421: 4}, connections=4, connections_refused=0,
                          transactions=3, recipients=4, bytes=n1 + n2 + n3, refused=4)

    def test_sigint_drains_and_stops_accepting(self):
        d = self.start('--hostname', HOST, '--threads', '1', '--drain-timeout', '10s')
        idle = self.session(d)
        busy = self.session(d)
        self.open_transaction(busy)
        d.send_signal(signal.SIGINT)
        self.assertEqual(idle.reply(timeout=5), SHUTTING_DOWN)
        idle.expect_closed()
        idle.close()
        # The only worker closed its listener before it told the idle session: no new connections.
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(('127.0.0.1', d.port), timeout=2).close()
        n = self.finish_data(busy)
        self.expect_shutdown(busy)
        s = d.wait(8)
        t = self.check_exit(s)
        self.assertTrue(any(parse_kv(l).get('signal') == 'SIGINT' for l in s.lines), s.lines)
        self.assertTotals(t, {220: 2, 250: 2 + 3, 354: 1, 421: 2}, connections=2, transactions=1,
                          recipients=1, bytes=n, refused=2)

    def test_drain_timeout_forces_stuck_session_closed(self):
        d = self.start('--hostname', HOST, '--drain-timeout', '1s')
        idle = self.session(d)
        stuck = self.session(d)
        self.open_transaction(stuck)
        t0 = time.monotonic()
        d.send_signal(signal.SIGTERM)
        self.assertEqual(idle.reply(timeout=5), SHUTTING_DOWN)
        idle.expect_closed()
        idle.close()
        stuck.expect_closed(timeout=5)  # closed without a reply after the drain timeout
        s = d.wait(5)
        elapsed = time.monotonic() - t0
        t = self.check_exit(s)
        self.assertGreater(elapsed, 0.9, 'the stuck session was not given its drain time')
        self.assertLess(elapsed, 2.5, f'exit took {elapsed:.2f}s with --drain-timeout 1s')
        self.assertTotals(t, {220: 2, 250: 4, 421: 1}, connections=2, transactions=0, recipients=0, bytes=0,
                          refused=1)

    def test_second_signal_closes_everything_at_once(self):
        d = self.start('--hostname', HOST, '--drain-timeout', '30s')
        idle = self.session(d)
        stuck = self.session(d)
        self.open_transaction(stuck)
        d.send_signal(signal.SIGTERM)
        self.assertEqual(idle.reply(timeout=5), SHUTTING_DOWN)  # the first signal is being handled
        idle.expect_closed()
        idle.close()
        t0 = time.monotonic()
        d.send_signal(signal.SIGTERM)
        stuck.expect_closed(timeout=5)
        s = d.wait(5)
        t = self.check_exit(s)
        self.assertLess(time.monotonic() - t0, 2.0, 'the second signal did not end the drain at once')
        self.assertTotals(t, {220: 2, 250: 4, 421: 1}, connections=2, transactions=0, refused=1)

    def test_sigterm_does_not_wait_for_a_session_that_said_quit(self):
        # The client got 221 but has not closed yet: nothing is left to drain. The daemon may linger a
        # little (linger_time, 2s) but must not wait the whole --drain-timeout.
        d = self.start('--hostname', HOST, '--drain-timeout', '8s')
        c = self.session(d)
        self.assertEqual(c.cmd('QUIT'), BYE)
        c.expect_closed()  # our side stays open
        t0 = time.monotonic()
        d.send_signal(signal.SIGTERM)
        s = d.wait(12)
        elapsed = time.monotonic() - t0
        t = self.check_exit(s)
        self.assertLess(elapsed, 3.5, f'exit took {elapsed:.2f}s for a session that had already said QUIT')
        self.assertTotals(t, {220: 1, 250: 1, 221: 1}, connections=1, transactions=0)


class TestListeners(LifecycleTest):
    def test_ipv6_listener(self):
        d = self.start('--hostname', HOST, listen=('[::1]:0',))
        self.assertTrue(any(f'addr=[::1]:{d.port}' in l for l in d.lines), d.lines)
        self.assertEqual(d.endpoints, [('::1', d.port)])
        msg = b'Subject: v6\r\n\r\nover IPv6\r\n'
        with smtplib.SMTP('::1', d.port, timeout=10) as s:
            self.assertEqual(s.sendmail('a@test', ['b@test'], msg), {})
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 4, 354: 1, 221: 1}, connections=1, transactions=1, recipients=1,
                          bytes=len(msg))

    def test_two_listeners(self):
        d = self.start('--hostname', HOST, listen=('127.0.0.1:0', '[::1]:0'))
        (h4, p4), (h6, p6) = d.endpoints
        self.assertEqual(h4, '127.0.0.1')
        self.assertEqual(h6, '::1')
        total = 0
        for host, port, rcpts in ((h4, p4, ['a@test']), (h6, p6, ['b@test', 'c@test'])):
            msg = f'Subject: via {host}\r\n\r\nhello\r\n'.encode()
            with smtplib.SMTP(host, port, timeout=10) as s:
                self.assertEqual(s.sendmail('x@test', rcpts, msg), {})
            total += len(msg)
        t = self.stop(d)
        self.assertTotals(t, {220: 2, 250: 2 * 3 + 3, 354: 2, 221: 2}, connections=2, transactions=2,
                          recipients=3, bytes=total)


class TestCommandLine(LifecycleTest):
    def test_bad_flags_exit_2_with_one_line(self):
        cases = [
            ['--no-such-flag'],
            ['--threads', '0'],
            ['--threads', 'many'],
            ['--max-message-size', '12Q'],
            ['--max-message-size', '0'],
            ['--max-message-size', 'big'],
            ['--max-recipients', '0'],
            ['--max-connections', '0'],
            ['--idle-timeout', '5parsecs'],
            ['--data-timeout', '0'],
            ['--drain-timeout', 'soon'],
            ['--disable-extension', 'tls'],
            ['--log-level', 'loud'],
            ['--hostname', 'two words'],
            ['stray-argument'],
        ]
        for args in cases:
            with self.subTest(args=args):
                self.assertExit2OneLine(['--smtp-listen', '127.0.0.1:0'] + args)
        for listen in ('nonsense', '127.0.0.1:99999', '127.0.0.1', '[::1:25', 'localhost:25', '1.2.3:25',
                       '127.0.0.1:port'):
            with self.subTest(listen=listen):
                self.assertExit2OneLine(['--smtp-listen', listen])

    def test_port_in_use_by_a_plain_socket(self):
        for family, host, flag in ((socket.AF_INET, '127.0.0.1', '127.0.0.1:{}'),
                                   (socket.AF_INET6, '::1', '[::1]:{}')):
            with self.subTest(host=host):
                s = socket.socket(family, socket.SOCK_STREAM)
                self.addCleanup(s.close)
                s.bind((host, 0))
                s.listen(1)
                port = s.getsockname()[1]
                self.assertExit2OneLine(['--smtp-listen', flag.format(port)], 'smtp-blackhole: cannot start: ',
                                        logs_allowed=True)
                # A free listener next to the busy one does not help: start-up fails as a whole.
                self.assertExit2OneLine(['--smtp-listen', '127.0.0.1:0', '--smtp-listen', flag.format(port)],
                                        'smtp-blackhole: cannot start: ', logs_allowed=True)

    def test_port_in_use_by_another_instance(self):
        d = self.start('--hostname', HOST)
        p = run_binary(['--smtp-listen', f'127.0.0.1:{d.port}'], timeout=3)
        if p is None:
            self.fail(f'a second smtp-blackhole started on 127.0.0.1:{d.port}, which the first one is '
                      'listening on (expected exit 2, "cannot start")')
        err = p.stderr.decode()
        self.assertEqual(p.returncode, 2, err)
        self.assertTrue(err.rstrip('\n').split('\n')[-1].startswith('smtp-blackhole: cannot start: '), err)
        t = self.stop(d)
        self.assertTotals(t, {}, connections=0, transactions=0)

    def test_help_and_version(self):
        p = run_binary(['--help'])
        self.assertIsNotNone(p)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.stderr, b'')
        out = p.stdout.decode()
        self.assertIn('Usage:', out)
        for flag in ('--smtp-listen', '--threads', '--hostname', '--max-message-size', '--max-recipients',
                     '--max-connections', '--idle-timeout', '--data-timeout', '--drain-timeout',
                     '--disable-extension', '--log-level', '--help', '--version'):
            self.assertIn(flag, out)
        p = run_binary(['--version'])
        self.assertIsNotNone(p)
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout.decode(), r'^smtp-blackhole \S+\n$')


class TestResources(LifecycleTest):
    def fd_count(self, pid):
        return len(os.listdir(f'/proc/{pid}/fd'))

    def nofile_limits(self, pid):
        """(soft, hard) 'Max open files' of a running process, from /proc/PID/limits."""
        with open(f'/proc/{pid}/limits') as f:
            for line in f:
                if line.startswith('Max open files'):
                    soft, hard = line.split()[3:5]
                    return int(soft), int(hard)
        raise AssertionError('no "Max open files" line')

    def start_limited(self, *args):
        """A daemon started with a soft descriptor limit of 256 under a hard one of 4096."""
        return self.start('--hostname', HOST, '--threads', '1', *args,
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 4096)))

    def test_default_start_raises_the_soft_limit_and_does_not_warn(self):
        # The default --max-connections (100000) is far above 4096: a default the user did not choose is no
        # reason for a warning.
        d = self.start_limited()
        self.assertEqual(self.nofile_limits(d.pid), (4096, 4096))
        started = [parse_kv(l) for l in d.lines if parse_kv(l).get('msg') == 'started']
        self.assertEqual([k.get('nofile') for k in started], ['4096'])
        self.assertEqual([l for l in d.lines if 'level=warn' in l], [])
        self.stop(d)

    def test_given_max_connections_within_the_limit_does_not_warn(self):
        d = self.start_limited('--max-connections', '4032')  # 4032 + 64 reserved = 4096
        self.assertEqual(self.nofile_limits(d.pid), (4096, 4096))
        self.assertEqual([l for l in d.lines if 'level=warn' in l], [])
        self.stop(d)

    def test_given_max_connections_over_the_limit_warns_what_to_change(self):
        d = self.start_limited('--max-connections', '4033')
        warns = [parse_kv(l) for l in d.lines if 'level=warn' in l]
        self.assertEqual(len(warns), 1, d.lines)
        self.assertEqual((warns[0]['nofile'], warns[0]['max_connections'], warns[0]['needed']),
                         ('4096', '4033', '4097'))
        self.assertIn('LimitNOFILE=', warns[0]['msg'])
        self.assertIn('ulimit -n', warns[0]['msg'])
        self.stop(d)
