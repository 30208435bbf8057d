"""swaks as a real client (default message, --pipeline, --body, --data, --quit-after, HELO, refusals). swaks
writes its own headers (date, message id), so the exact expected byte counts come from a recording relay
between swaks and the daemon (RecordingProxy)."""
import os
import subprocess
import tempfile

from daemon_test import DaemonTest
from parsers import command_counts
from recording_proxy import RecordingProxy
from replies import HOST

SWAKS = '/usr/bin/swaks'


class SwaksTest(DaemonTest):
    def begin(self, *args):
        d = self.start('--hostname', HOST, *args)
        proxy = RecordingProxy(d.port)
        self.addCleanup(proxy.close, 2.0)
        return d, proxy

    def swaks(self, port, *args, expect_rc=0):
        argv = [SWAKS, '--server', f'127.0.0.1:{port}', '--helo', 'client.test', '--from', 's@test',
                '--timeout', '10'] + list(args)
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        out = p.stdout.decode('utf-8', 'replace') + p.stderr.decode('utf-8', 'replace')
        self.assertEqual(p.returncode, expect_rc, f'swaks exit code; output:\n{out}')
        return out

    def finish(self, d, proxy):
        proxy.close()
        return self.stop(d)


class TestSwaks(SwaksTest):
    def test_default_message(self):
        d, proxy = self.begin()
        out = self.swaks(proxy.port, '--to', 'r@test')
        self.assertRegex(out, r'<-  250 2\.0\.0 Ok: queued as \d+\.1\n')
        self.assertIn('<-  221 2.0.0 Bye', out)
        t = self.finish(d, proxy)
        sizes = proxy.message_sizes()
        self.assertEqual(len(sizes), 1)
        self.assertTotals(t, {220: 1, 250: 4, 354: 1, 221: 1}, connections=1, connections_refused=0,
                          transactions=1, recipients=1, bytes=sizes[0], refused=0, smuggling_suspects=0)

    def test_pipeline_three_recipients_dotted_data(self):
        d, proxy = self.begin()
        with tempfile.NamedTemporaryFile('w', suffix='.eml', delete=False) as f:
            f.write('Subject: dots\n\n.one leading dot\n..two leading dots\nplain\n')
        self.addCleanup(os.unlink, f.name)
        out = self.swaks(proxy.port, '--pipeline', '--to', 'a@test,b@test,c@test', '--data', f.name)
        self.assertRegex(out, r' -> DATA\n<-  250 2\.1\.0 Sender ok\n')  # really pipelined
        self.assertIn('-> ..one leading dot', out)  # swaks stuffed it; the daemon must unstuff it
        t = self.finish(d, proxy)
        sizes = proxy.message_sizes()
        self.assertEqual(len(sizes), 1)
        # Cross-check of the relay: the file with CRLF line ends, plus the empty line swaks adds at the end.
        meant = b'Subject: dots\r\n\r\n.one leading dot\r\n..two leading dots\r\nplain\r\n\r\n'
        self.assertEqual(sizes[0], len(meant))
        self.assertTotals(t, {220: 1, 250: 6, 354: 1, 221: 1}, connections=1, transactions=1, recipients=3,
                          bytes=sizes[0])

    def test_body_option(self):
        d, proxy = self.begin()
        self.swaks(proxy.port, '--to', 'r@test', '--body', 'custom body text', '--header', 'Subject: custom')
        t = self.finish(d, proxy)
        sizes = proxy.message_sizes()
        self.assertEqual(len(sizes), 1)
        self.assertTotals(t, {220: 1, 250: 4, 354: 1, 221: 1}, transactions=1, recipients=1, bytes=sizes[0])

    def test_quit_after_rcpt(self):
        d, proxy = self.begin()
        out = self.swaks(proxy.port, '--to', 'r@test', '--quit-after', 'RCPT')
        self.assertIn('<-  250 2.1.5 Recipient ok', out)
        t = self.finish(d, proxy)
        self.assertEqual(proxy.message_sizes(), [])
        self.assertTotals(t, {220: 1, 250: 3, 221: 1}, connections=1, transactions=0, recipients=0, bytes=0)

    def test_helo_protocol_three_runs(self):
        d, proxy = self.begin()
        for i in range(3):
            out = self.swaks(proxy.port, '--protocol', 'SMTP', '--to', f'r{i}@test')
            self.assertIn('<-  250 mx.test', out)
        t = self.finish(d, proxy)
        sizes = proxy.message_sizes()
        self.assertEqual(len(sizes), 3)
        counts = [command_counts(bytes(s)) for s in proxy.streams]
        self.assertEqual([c.get('HELO') for c in counts], [1, 1, 1])
        self.assertTotals(t, {220: 3, 250: 12, 354: 3, 221: 3}, connections=3, transactions=3, recipients=3,
                          bytes=sum(sizes))

    def test_oversize_message_refused(self):
        d, proxy = self.begin('--max-message-size', '100')
        out = self.swaks(proxy.port, '--to', 'r@test', expect_rc=26)
        self.assertIn('<** 552 5.3.4 Message size exceeds fixed limit', out)
        t = self.finish(d, proxy)
        self.assertGreater(proxy.message_sizes()[0], 100)
        self.assertTotals(t, {220: 1, 250: 3, 354: 1, 552: 1, 221: 1}, transactions=0, recipients=0, bytes=0,
                          refused=1)

    def test_pipeline_against_server_without_pipelining(self):
        # swaks must notice the missing PIPELINING keyword and fall back to lock-step: no 503 5.5.0.
        d, proxy = self.begin('--disable-extension', 'pipelining')
        out = self.swaks(proxy.port, '--pipeline', '--to', 'a@test,b@test')
        # Server replies only (a reply line starts with '<-'): swaks's own Date and Message-Id carry the time,
        # and a time such as 19:50:34 has '503' in it.
        self.assertNotRegex(out, r'(?m)^<\S*\s+5\d\d')
        # Lock-step: each command's reply comes before the next command.
        self.assertIn(' -> MAIL FROM:<s@test>\n<-  250 2.1.0 Sender ok\n -> RCPT TO:<a@test>\n'
                      '<-  250 2.1.5 Recipient ok\n -> RCPT TO:<b@test>\n<-  250 2.1.5 Recipient ok\n -> DATA\n'
                      '<-  354 ', out)
        t = self.finish(d, proxy)
        sizes = proxy.message_sizes()
        self.assertTotals(t, {220: 1, 250: 5, 354: 1, 221: 1}, transactions=1, recipients=2, bytes=sum(sizes))
