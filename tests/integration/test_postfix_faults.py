"""A real MTA meets the sink's injected faults: a private Postfix (postfix.py) retries a 451 at RCPT and a 421
greeting, and bounces a 550 at RCPT to the sender with a DSN; each message is counted exactly once. The reply
texts are given with `text=` so that the assertions are exact (a refused greeting names the host first). Flows
are named by the recipient's tag (rcpt-tag): a refusal at RCPT is counted under the flow the envelope names, as
no header is known yet."""
from http_client import metric
from postfix import SENDER, PostfixTest
from replies import HOST

FAULT_TEXT_451 = '4.3.0 Try again later'
FAULT_TEXT_550 = '5.1.1 No such user here'
FAULT_TEXT_421 = '4.3.2 Not now'


class TestPostfixFaults(PostfixTest):
    def test_rcpt_451_first_is_deferred_retried_counted_once(self):
        d = self.begin('--fault', f'stage=rcpt,code=451,first=1,text={FAULT_TEXT_451}')
        pf = self.relay(d.port)  # retries about a second after a deferral
        rcpt = 'r+pf-451@sink.test'
        qid = self.submit(pf, None, [rcpt])
        self.assertSent(pf, qid, [rcpt])
        attempts = pf.deliveries(qid)
        self.assertEqual([a['status'] for a in attempts], ['deferred', 'sent'], attempts)
        self.assertEqual(attempts[0]['reply'], f'host 127.0.0.1[127.0.0.1] said: 451 {FAULT_TEXT_451} '
                                               '(in reply to RCPT TO command)')
        self.assertEqual(attempts[0]['dsn'], '4.3.0')
        pf.wait_queue_empty()
        fl, _ = self.flows(d)
        f = fl['pf-451']
        self.assertEqual((self.counts(f)[:2], f['refused_by_code'], f['faults']), ((1, 1), {'451': 1}, {'rcpt:451': 1}))

    def test_rcpt_550_bounces_with_dsn_to_sender(self):
        d = self.begin('--fault', f'stage=rcpt,code=550,text={FAULT_TEXT_550}')
        pf = self.relay(d.port)
        rcpt = 'r+pf-550@sink.test'
        qid = self.submit(pf, None, [rcpt])
        [attempt] = pf.wait_status(qid, 'bounced')
        self.assertEqual(attempt['reply'], f'host 127.0.0.1[127.0.0.1] said: 550 {FAULT_TEXT_550} '
                                           '(in reply to RCPT TO command)')
        self.assertEqual(attempt['dsn'], '5.1.1')
        dsn = pf.wait_dsn(qid)
        self.assertEqual(dsn['To'], SENDER)
        status = next(p for p in dsn.walk() if p.get_content_type() == 'message/delivery-status').as_string()
        self.assertIn(f'Final-Recipient: rfc822; {rcpt}', status)
        self.assertIn(f'Diagnostic-Code: smtp; 550 {FAULT_TEXT_550}', status)
        pf.wait_queue_empty()
        fl, _ = self.flows(d)
        f = fl['pf-550']
        self.assertEqual((self.counts(f), f['refused_by_code'], f['faults']), ((0, 0, 0), {'550': 1}, {'rcpt:550': 1}))

    def test_connect_421_first_is_retried_counted_once(self):
        d = self.begin('--fault', f'stage=connect,code=421,first=1,text={FAULT_TEXT_421}')
        pf = self.relay(d.port)
        rcpt = 'r+pf-421@sink.test'
        qid = self.submit(pf, None, [rcpt])
        self.assertSent(pf, qid, [rcpt])
        attempts = pf.deliveries(qid)
        self.assertEqual([a['status'] for a in attempts], ['deferred', 'sent'], attempts)
        self.assertEqual(attempts[0]['reply'], f'host 127.0.0.1[127.0.0.1] refused to talk to me: 421 {HOST} {FAULT_TEXT_421}')
        pf.wait_queue_empty()
        fl, _ = self.flows(d)
        # No flow is known at connect: the fault is counted under _default, the accepted message under its flow.
        self.assertEqual({n: (self.counts(f)[:2], f['refused'], f['faults']) for n, f in fl.items()},
                         {'pf-421': ((1, 1), 0, {}), '_default': ((0, 0), 0, {'connect:421': 1})})
        self.assertEqual(metric(self.metrics(d), 'smtp_blackhole_faults_injected_total', stage='connect',
                                action='reply', code='421'), 1)
