"""DaemonTest, the base class of the integration tests: daemons and clients that are always cleaned up, sessions
that have said EHLO, one transaction in lock-step, and a stop that checks a clean exit and the exact totals."""
from __future__ import annotations

import signal
import time
import unittest

from daemon import STOP_TIMEOUT, Daemon, run_binary
from http_client import http_request, metric, parse_prometheus
from parsers import parse_kv, stuff
from replies import BYE, DATA_GO, HOST, MAIL_OK, RCPT_OK, SHUTTING_DOWN, greeting
from smtp_client import IO_TIMEOUT, Client


class DaemonTest(unittest.TestCase):
    """Base class: start daemons and clients that are always cleaned up, stop and check exact totals."""

    def start(self, *args: str, **kw) -> Daemon:
        """Starts a daemon that is killed at cleanup. Unless the test says otherwise it logs at debug level
        (so that settle() can see sessions close) and drains for at most 5s."""
        args = list(args)
        if '--log-level' not in args:
            args += ['--log-level', 'debug']
        if '--drain-timeout' not in args:
            args += ['--drain-timeout', '5s']
        d = Daemon(*args, **kw)
        self.addCleanup(d.kill)
        return d

    def settle(self, d: Daemon, timeout: float = 5.0) -> None:
        """Waits (bounded) until the daemon has closed every session it opened. With an HTTP listener the
        daemon's own gauge says so (/metrics connections_active 0); the debug log lines `connection open` /
        `connection closed` are checked too, but alone they can race: a `connection open` line the reader
        thread has not read yet looks like no connection at all."""
        deadline = time.monotonic() + timeout
        if d.http_endpoints:
            while True:
                r = http_request(d.http_port, 'GET', '/metrics', timeout=timeout)
                active = metric(parse_prometheus(r.body.decode('utf-8')), 'smtp_blackhole_connections_active') \
                    if r.status == 200 else None
                if active == 0:
                    break
                if time.monotonic() >= deadline:
                    raise AssertionError(f'sessions still open after {timeout}s: /metrics status {r.status}, '
                                         f'connections_active {active}')
                time.sleep(0.02)

        def done(lines):
            msgs = [parse_kv(l).get('msg') for l in lines]
            opened = msgs.count('connection open')
            return opened == 0 or msgs.count('connection closed') >= opened
        d.wait_until(done, max(0.5, deadline - time.monotonic()), 'every session closed')

    def quit(self, c: Client) -> None:
        """QUIT, 221, the server's close, our close: a session that ends without a 421 at shutdown."""
        self.assertEqual(c.cmd('QUIT'), BYE)
        c.expect_closed()
        c.close()

    def expect_shutdown(self, c: Client) -> None:
        """The drain's 421 (RFC 5321 3.8), the server's close, our close."""
        self.assertEqual(c.reply(), SHUTTING_DOWN)
        c.expect_closed()
        c.close()

    def connect(self, d_or_port, host: str = '127.0.0.1', timeout: float = IO_TIMEOUT) -> Client:
        port = d_or_port if isinstance(d_or_port, int) else d_or_port.port
        c = Client(port, host, timeout)
        self.addCleanup(c.close)
        if not hasattr(self, '_clients'):
            self._clients = []
        self._clients.append(c)
        return c

    def session(self, d, hostname: str = HOST, host: str = '127.0.0.1', helo: str = 'client.test') -> Client:
        """A connection that has read the greeting and said EHLO `helo`."""
        c = self.connect(d, host)
        self.assertEqual(c.reply(), greeting(hostname))
        got = c.ehlo(helo)
        self.assertTrue(got.startswith(f'250-{hostname}\n'), got)
        return c

    def transaction(self, c: Client, msg: bytes, mail_from: str = 's@test', rcpts=('r@test',),
                    mail_params: str = '') -> str:
        """MAIL, RCPT..., DATA and the dot-stuffed CRLF message in lock-step; checks every intermediate reply
        and returns the reply to the end of data."""
        params = f' {mail_params}' if mail_params else ''
        self.assertEqual(c.cmd(f'MAIL FROM:<{mail_from}>{params}'), MAIL_OK)
        for r in rcpts:
            self.assertEqual(c.cmd(f'RCPT TO:<{r}>'), RCPT_OK)
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        self.assertTrue(msg.endswith(b'\r\n'), 'messages end with CRLF')
        c.send(stuff(msg) + b'.\r\n')
        return c.reply()

    def stop(self, d: Daemon, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT,
             settle: bool = True) -> dict[str, int]:
        """Closes every client this test opened, waits until the daemon has closed them too (so that no
        session is open at the signal), signals, checks a clean exit with one final totals line, and
        returns the totals. With settle=False the test manages its open sessions itself."""
        if settle:
            for c in getattr(self, '_clients', []):
                c.close()
            self.settle(d)
        s = d.stop(sig, timeout)
        self.assertEqual(s.returncode, 0, f'exit code; stderr: {s.lines}')
        self.assertEqual(len(s.totals_lines), 1, f'one totals line expected; stderr: {s.lines}')
        self.assertEqual(s.lines[-1], s.totals_lines[0], 'the totals line must be the last line')
        return s.totals

    def assertExit2OneLine(self, args, prefix='smtp-blackhole: ', logs_allowed=False, env=None):
        """Exit code 2 and one error line. With logs_allowed (start-up failures), key=value log lines
        written before the failure may precede it; the error line must then be the last line."""
        p = run_binary(args, env=env)
        self.assertIsNotNone(p, f'{args}: did not exit (started serving?)')
        err = p.stderr.decode('utf-8', 'replace')
        self.assertEqual(p.returncode, 2, f'{args}: stderr {err!r}')
        self.assertEqual(p.stdout, b'', args)
        self.assertTrue(err.endswith('\n'), f'{args}: {err!r}')
        lines = err[:-1].split('\n')
        if logs_allowed:
            self.assertTrue(all(l.startswith('ts=') for l in lines[:-1]), f'{args}: {err!r}')
        else:
            self.assertEqual(len(lines), 1, f'{args}: not one line: {err!r}')
        self.assertTrue(lines[-1].startswith(prefix), f'{args}: {err!r}')

    def assertTotals(self, totals: dict[str, int], replies: dict[int, int], **expected: int) -> None:
        """Exact totals: every named key, and exactly this set of replies_CODE keys with these counts.
        Also checks that refused is the number of 4xx and 5xx replies."""
        for k, v in expected.items():
            self.assertIn(k, totals, f'{k} missing from totals {totals}')
            self.assertEqual(totals[k], v, f'{k} in totals {totals}')
        got = {int(k[len('replies_'):]): v for k, v in totals.items() if k.startswith('replies_')}
        self.assertEqual(got, replies, f'replies_* in totals {totals}')
        self.assertEqual(totals['refused'], sum(v for c, v in got.items() if c >= 400),
                         f'refused vs 4xx+5xx replies in {totals}')
