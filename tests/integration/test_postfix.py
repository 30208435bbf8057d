"""A real MTA in front of the sink: a private Postfix (postfix.py) relays to the daemon over plaintext and
STARTTLS, keeps mail while the sink is down and delivers it on a flush, and bounces to the sender what the sink
refuses for good. Every message is counted exactly once, under the flow its header or recipient tag names.
The harness itself is checked too: a stopped instance leaves no process and no directory."""
import os
import re
import socket

from postfix import HOSTNAME, SENDER, PostfixTest, PrivatePostfix
from replies import SIZE_EXCEEDED

TLS_LOG_RE = re.compile(r'TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:(\d+): (TLSv[\d.]+) '
                        r'with cipher (\S+)')


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class TestPostfixRelay(PostfixTest):
    def test_relays_each_message_once(self):
        d = self.begin()
        pf = self.relay(d.port)
        # Two flows named by their X-Flow header, one by the recipient's tag (Postfix keeps the envelope as is).
        sent = {'pf-one': ('one@sink.test',), 'pf-two': ('a@sink.test', 'b@sink.test'),
                'pf-tag': ('r+pf-tag@sink.test',)}
        qids = {flow: self.submit(pf, None if flow == 'pf-tag' else flow, rcpts) for flow, rcpts in sent.items()}
        replies = {flow: self.assertSent(pf, qids[flow], rcpts) for flow, rcpts in sent.items()}
        self.assertEqual(len(set(replies.values())), 3, f'three transactions: {replies}')
        pf.wait_queue_empty()

        fl, _ = self.flows(d)
        self.assertEqual({name: (f['messages'], f['recipients'], f['refused']) for name, f in fl.items()},
                         {'pf-one': (1, 1, 0), 'pf-two': (1, 2, 0), 'pf-tag': (1, 1, 0)})
        ms = {m['flow']: m for m in self.captured(d, 3)}
        self.assertEqual(sorted(ms), sorted(sent))
        for flow, m in ms.items():
            self.assertEqual((m['mail_from'], sorted(m['rcpt_to']), m['helo'], m['tls']),
                             (SENDER, sorted(sent[flow]), HOSTNAME, None), m)
            raw = self.raw(d, m['id'])
            self.assertEqual(len(raw), fl[flow]['bytes'], flow)
            # Postfix's own trace header, naming the queue id its log has.
            self.assertRegex(raw.decode(), rf'(?m)^Received: by {re.escape(HOSTNAME)} \(Postfix, from userid 0\)'
                                           rf'\r\n\s+id {qids[flow]};', flow)
        pf.stop()
        t = self.stop(d)
        self.assertEqual((t['transactions'], t['recipients'], t['refused']), (3, 4, 0), t)

    def test_starttls_encrypt(self):
        d = self.begin()
        pf = self.relay(d.port, tls='encrypt')  # no TLS, no delivery
        qid = self.submit(pf, 'pf-tls', ['t@sink.test'])
        self.assertSent(pf, qid, ['t@sink.test'])
        [m] = self.captured(d, 1)
        self.assertEqual((m['flow'], m['helo']), ('pf-tls', HOSTNAME), m)
        self.assertRegex(m['tls'] or '', r'^TLSv1\.[23] \S+$', m)
        # The version and cipher Postfix logged are the ones the sink recorded with the message.
        logged = [TLS_LOG_RE.search(l) for l in pf.log_lines()]
        self.assertEqual({(int(g[1]), f'{g[2]} {g[3]}') for g in logged if g}, {(d.port, m['tls'])})
        fl, _ = self.flows(d)
        self.assertEqual(self.counts(fl['pf-tls'])[:2], (1, 1), fl)

    def test_sink_down_then_flush(self):
        port = closed_port()
        # Retries an hour apart: only the flush can deliver the mail in time.
        pf = self.relay(port, settings={'queue_run_delay': '1h', 'minimal_backoff_time': '1h',
                                        'maximal_backoff_time': '1h'})
        qid = self.submit(pf, 'pf-later', ['later@sink.test'])
        [attempt] = pf.wait_status(qid, 'deferred')
        self.assertEqual(attempt['reply'], f'connect to 127.0.0.1[127.0.0.1]:{port}: Connection refused', attempt)
        self.assertEqual(attempt['dsn'], '4.4.1', attempt)
        [entry] = pf.wait_queue(lambda q: [e['queue_name'] for e in q] == ['deferred'], what='one deferred')
        self.assertEqual(entry['queue_id'], qid)
        self.assertIn('Connection refused', entry['recipients'][0]['delay_reason'])

        d = self.begin(listen=(f'127.0.0.1:{port}',))
        pf.flush()
        self.assertSent(pf, qid, ['later@sink.test'])
        pf.wait_queue_empty()
        self.assertEqual([a['status'] for a in pf.deliveries(qid)], ['deferred', 'sent'])
        fl, _ = self.flows(d)
        self.assertEqual({n: self.counts(f)[:2] for n, f in fl.items()}, {'pf-later': (1, 1)})

    def test_permanent_refusal_bounces_to_sender(self):
        # Without SIZE in the EHLO reply Postfix sends the message, and the sink refuses it at the end of data.
        d = self.begin('--disable-extension', 'size', '--max-message-size', '2000')
        pf = self.relay(d.port)
        qid = self.submit(pf, 'pf-big', ['big@sink.test'], size=5000)
        [attempt] = pf.wait_status(qid, 'bounced')
        self.assertEqual(attempt['dsn'], '5.3.4', attempt)
        self.assertEqual(attempt['reply'], f'host 127.0.0.1[127.0.0.1] said: {SIZE_EXCEEDED} '
                                           '(in reply to end of DATA command)')
        dsn = pf.wait_dsn(qid)
        self.assertEqual((dsn['To'], dsn.get_content_type()), (SENDER, 'multipart/report'), dsn)
        status = next(p for p in dsn.walk() if p.get_content_type() == 'message/delivery-status')
        text = status.as_string()
        self.assertIn('Status: 5.3.4', text)
        self.assertIn(f'Diagnostic-Code: smtp; {SIZE_EXCEEDED}', text)
        self.assertIn('Final-Recipient: rfc822; big@sink.test', text)
        pf.wait_queue_empty()
        fl, _ = self.flows(d)
        self.assertEqual((self.counts(fl['pf-big']), fl['pf-big']['refused_by_code']), ((0, 0, 0), {'552': 1}))


class TestPostfixHarness(PostfixTest):
    def test_stop_leaves_no_process_and_no_directory(self):
        pf = PrivatePostfix(closed_port())
        self.addCleanup(pf.stop)
        pid = pf.master_pid
        self.assertTrue(pf.status())
        self.assertTrue(pf.master_alive())
        self.assertIn(pid, pf.processes())
        self.assertTrue(os.path.isdir(os.path.join(pf.queue_dir, 'maildrop')))
        self.assertIn('daemon started -- version 3.', pf.wait_log(lambda l: f'postfix/master[{pid}]:' in l))
        pf.stop()
        self.assertFalse(pf.master_alive(), f'master {pid} still runs')
        self.assertEqual(pf.processes(), [])
        self.assertFalse(os.path.exists(pf.root))
        pf.stop()  # a second stop is harmless
