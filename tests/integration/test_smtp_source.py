"""Postfix's smtp-source as a real client: sequential and parallel sessions, with and without connection reuse
(-d), large messages, and refusals with -A. smtp-source writes its own headers (date, message id with its pid),
so exact expected byte counts and command counts come from a recording relay (RecordingProxy)."""
import os
import subprocess
import tempfile

from daemon_test import DaemonTest
from parsers import command_counts, message_sizes
from recording_proxy import RecordingProxy
from replies import HOST

SMTP_SOURCE = '/usr/sbin/smtp-source'


class TestSmtpSource(DaemonTest):
    def run_source(self, sessions, messages, length, rcpts, reuse=False, extra=(), threads='2', daemon_args=()):
        d = self.start('--hostname', HOST, '--threads', threads, *daemon_args)
        proxy = RecordingProxy(d.port)
        self.addCleanup(proxy.close, 2.0)
        argv = [SMTP_SOURCE, '-s', str(sessions), '-m', str(messages), '-l', str(length), '-r', str(rcpts),
                '-M', 'client.test', '-f', 's@client.test', '-t', 'r@client.test'] + list(extra)
        if reuse:
            argv.append('-d')
        argv.append(f'127.0.0.1:{proxy.port}')
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        self.assertEqual(p.returncode, 0, f'smtp-source: {p.stdout!r} {p.stderr!r}')
        proxy.close()
        t = self.stop(d)
        streams = [bytes(s) for s in proxy.streams]
        return t, streams

    def expected_replies(self, streams):
        """Replies the daemon owes for these client streams when every command succeeds."""
        counts = {}
        for s in streams:
            for verb, n in command_counts(s).items():
                counts[verb] = counts.get(verb, 0) + n
        ok250 = sum(counts.get(v, 0) for v in ('HELO', 'EHLO', 'MAIL', 'RCPT', 'RSET', 'NOOP'))
        replies = {220: len(streams), 250: ok250 + counts.get('DATA', 0), 354: counts.get('DATA', 0)}
        if counts.get('QUIT'):
            replies[221] = counts['QUIT']
        return counts, replies

    def check(self, t, streams, sessions, messages, length, rcpts, reuse):
        sizes = [n for s in streams for n in message_sizes(s)]
        self.assertEqual(len(sizes), messages)
        self.assertTrue(all(n > length for n in sizes), sizes[:5])  # headers + payload
        counts, replies = self.expected_replies(streams)
        self.assertEqual(counts.get('MAIL'), messages)
        self.assertEqual(counts.get('RCPT'), messages * rcpts)
        connections = min(sessions, messages) if reuse else messages
        self.assertEqual(len(streams), connections)
        self.assertTotals(t, replies, connections=connections, connections_refused=0, transactions=messages,
                          recipients=messages * rcpts, bytes=sum(sizes), refused=0, smuggling_suspects=0)

    def run_and_check(self, **args):
        """One smtp-source run in this shape, checked exactly against the daemon's totals."""
        t, streams = self.run_source(**args)
        self.check(t, streams, **args)

    def test_one_session_new_connection_per_message(self):
        self.run_and_check(sessions=1, messages=5, length=1000, rcpts=3, reuse=False)

    def test_reused_connections_parallel(self):
        self.run_and_check(sessions=4, messages=40, length=2000, rcpts=2, reuse=True)

    def test_many_parallel_sessions(self):
        self.run_and_check(sessions=20, messages=300, length=500, rcpts=1, reuse=True)

    def test_parallel_sessions_without_reuse(self):
        self.run_and_check(sessions=8, messages=60, length=300, rcpts=4, reuse=False)

    def test_large_messages(self):
        self.run_and_check(sessions=2, messages=6, length=300000, rcpts=2, reuse=True)

    def test_oversize_refused_with_A(self):
        t, streams = self.run_source(1, 3, 5000, 1, reuse=True, extra=['-A'],
                                     daemon_args=['--max-message-size', '2000'])
        self.assertTrue(all(n > 5000 for n in message_sizes(streams[0])))
        counts, replies = self.expected_replies(streams)
        self.assertEqual(counts.get('DATA'), 3)
        replies[250] -= 3  # each end of data is refused instead
        replies[552] = 3
        self.assertTotals(t, replies, connections=1, transactions=0, recipients=0, bytes=0, refused=3)

    def test_preformatted_file_direct(self):
        # No relay: with -F the message is fixed, so its size is derived from the file itself
        # (smtp-source stuffs leading dots and ends each line with CRLF; the daemon must undo the stuffing).
        lines = ['From: <s@client.test>', 'Subject: fixed', '', '.leading dot', '..two dots', 'body line',
                 '.', 'last']
        with tempfile.NamedTemporaryFile('w', suffix='.eml', delete=False) as f:
            f.write('\n'.join(lines) + '\n')
        self.addCleanup(os.unlink, f.name)
        per_message = sum(len(l) + 2 for l in lines) + 2  # smtp-source adds one empty line at the end
        d = self.start('--hostname', HOST)
        p = subprocess.run([SMTP_SOURCE, '-s', '3', '-m', '30', '-r', '2', '-d', '-M', 'client.test',
                            '-F', f.name, f'127.0.0.1:{d.port}'],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, f'smtp-source: {p.stdout!r} {p.stderr!r}')
        t = self.stop(d)
        # -d: one HELO per connection; per message MAIL, 2 RCPT, end of data; one QUIT per connection.
        self.assertTotals(t, {220: 3, 250: 3 + 30 * 4, 354: 30, 221: 3}, connections=3, transactions=30,
                          recipients=60, bytes=30 * per_message, refused=0, smuggling_suspects=0)
