"""Every stage x action of the fault rules, from --fault flags and from the API, over raw SMTP with exact reply
bytes: a reply (and 421, which closes), a delay (the normal reply, or a code, after it), a disconnect with a FIN or
an RST, silence. Each case's session names its own flow (--flow-key helo), and each rule is scoped to it, so one
daemon serves every case; afterwards each rule saw exactly one event and fired once, and each case's flow counts
exactly its fault."""
import signal
import time

from faults import NORMAL, STAGES, FaultTest, injected, reach
from replies import QUEUED_RE, SHUTTING_DOWN, greeting
from smtp_client import Client

DELAY = 0.3  # seconds of the delay cases
ACTIONS = {  # name -> the rule's keys besides stage and flow
    'reply': {'code': 451, 'text': 'try later'},
    'close421': {'code': 421},
    'delay': {'action': 'delay', 'delay': f'{int(DELAY * 1000)}ms'},
    'delaycode': {'action': 'delay', 'delay': f'{int(DELAY * 1000)}ms', 'code': 554, 'text': 'no thanks'},
    'disconnect': {'action': 'disconnect'},
    'reset': {'action': 'disconnect', 'reset': True},
    'silence': {'action': 'silence'},
}
# What each case puts in its flow's "faults".
LABELS = {'reply': '451', 'close421': '421', 'delay': 'delay', 'delaycode': '554', 'disconnect': 'disconnect',
          'reset': 'disconnect', 'silence': 'silence'}
DAEMON_ARGS = ('--flow-key', 'helo', '--auth', 'any', '--auth-insecure', '--idle-timeout', '20s')


def flag(rule: dict) -> str:
    """A rule as the --fault flag writes it."""
    return ','.join(f'{k}={str(v).lower() if isinstance(v, bool) else v}' if ' ' not in str(v) else f'{k}="{v}"'
                    for k, v in rule.items())


def rule_for(stage: str, action: str) -> dict:
    rule = {'stage': stage, **ACTIONS[action]}
    if stage != 'connect':  # at connect no EHLO name is known yet: those cases get a daemon each
        rule['flow'] = f'{stage}-{action}'
    return rule


class TestStagesAndActions(FaultTest):
    def closed_how(self, c: Client, timeout: float = 5.0) -> str:
        """'fin' or 'rst': how the server closed, with nothing sent before it."""
        c.sock.settimeout(timeout)
        try:
            data = c.sock.recv(4096)
        except ConnectionResetError:
            return 'rst'
        self.assertEqual(data, b'', 'bytes before the close')
        return 'fin'

    def run_case(self, d, stage: str, action: str) -> None:
        try:
            c = self.connect(d)
        except ConnectionResetError:  # an RST at once may come before connect() returns
            self.assertEqual((stage, action), ('connect', 'reset'))
            return
        trigger = reach(c, stage, f'{stage}-{action}')
        t0 = time.monotonic()
        c.send(trigger)
        if action == 'reply':
            self.assertEqual(c.reply(), injected(stage, 451, '4.3.0', 'try later'))
            if stage == 'quit':
                c.expect_closed()
        elif action == 'close421':
            self.assertEqual(c.reply(), injected(stage, 421, '4.3.2', 'Service not available, closing transmission '
                                                                       'channel'))
            c.expect_closed()
        elif action in ('delay', 'delaycode'):
            got = c.reply(timeout=DELAY + 5)
            elapsed = time.monotonic() - t0
            self.assertGreaterEqual(elapsed, DELAY - 0.01, f'{stage}: the reply came before the delay')
            self.assertLess(elapsed, DELAY + 2.5, stage)
            if action == 'delaycode':
                self.assertEqual(got, injected(stage, 554, '5.7.1', 'no thanks'))
            elif stage == 'ehlo':
                self.assertTrue(got.startswith('250-mx.test\n250-PIPELINING\n'), got)
            elif stage == 'message':
                self.assertRegex(got, QUEUED_RE)
            else:
                self.assertEqual(got, NORMAL[stage])
        elif action in ('disconnect', 'reset'):
            self.assertEqual(self.closed_how(c), 'rst' if action == 'reset' else 'fin')
        else:  # silence: nothing to this command, nor to the next
            c.expect_silence(0.3)
            c.send('NOOP\r\n')
            c.expect_silence(0.2)
        c.close()

    def check_counts(self, d, cases) -> None:
        """Each rule saw one event and fired once; each case's flow holds exactly its fault; the metric sums them."""
        for f in self.faults(d):
            self.assertEqual((f['seen'], f['fired']), (1, 1), f)
        flows, _ = self.flows(d)
        expected_metric = {}
        for stage, action in cases:
            code = ACTIONS[action].get('code')
            key = (stage, ACTIONS[action].get('action', 'reply'), str(code) if code else '')
            expected_metric[key] = expected_metric.get(key, 0) + 1
            if stage != 'connect':
                self.assertEqual(flows[f'{stage}-{action}']['faults'], {f'{stage}:{LABELS[action]}': 1}, (stage, action))
        self.assertEqual(self.injections(d), expected_metric)

    def test_every_stage_and_action_from_flags(self):
        cases = [(s, a) for s in STAGES if s != 'connect' for a in ACTIONS]
        args = [x for s, a in cases for x in ('--fault', flag(rule_for(s, a)))]
        d = self.begin(*DAEMON_ARGS, *args)
        for stage, action in cases:
            with self.subTest(stage=stage, action=action):
                self.run_case(d, stage, action)
        self.settle(d)
        self.check_counts(d, cases)
        for action in ACTIONS:  # connect: before any name is known, so a daemon of its own each
            with self.subTest(stage='connect', action=action):
                c = self.begin(*DAEMON_ARGS, '--fault', flag(rule_for('connect', action)))
                self.run_case(c, 'connect', action)
                self.assertEqual(self.flow(c, '_default')['faults'], {f'connect:{LABELS[action]}': 1})

    def test_every_stage_and_action_from_the_api(self):
        d = self.begin(*DAEMON_ARGS)
        cases = [(s, a) for s in STAGES if s != 'connect' for a in ACTIONS]
        self.add_faults(d, [rule_for(s, a) for s, a in cases])
        for stage, action in cases:
            with self.subTest(stage=stage, action=action):
                self.run_case(d, stage, action)
        self.settle(d)
        self.check_counts(d, cases)
        self.assertEqual(self.delete_faults(d).json(), {'deleted': len(cases)})
        for action in ACTIONS:  # connect rules match every connection: one at a time
            with self.subTest(stage='connect', action=action):
                [fid] = self.add_faults(d, [rule_for('connect', action)])
                self.run_case(d, 'connect', action)
                self.assertEqual(self.delete_faults(d, fid).json(), {'deleted': 1})
        self.assertEqual(self.flow(d, '_default')['faults'],
                         {'connect:421': 1, 'connect:451': 1, 'connect:554': 1, 'connect:delay': 1,
                          'connect:disconnect': 2, 'connect:silence': 1})

    def test_silence_ends_at_the_idle_timeout_without_a_reply(self):
        d = self.begin('--idle-timeout', '1s', '--fault', 'stage=rcpt,action=silence')
        c = self.connect(d)
        c.send(reach(c, 'rcpt', 'client.test'))
        t0 = time.monotonic()
        c.send('NOOP\r\n')
        self.assertEqual(c.read_to_close(5, 'the silent session did not close'), [])
        self.assertGreater(time.monotonic() - t0, 0.8)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 2}, transactions=0, refused=0)

    def test_a_delay_holds_back_pipelined_commands_and_their_replies_keep_their_order(self):
        d = self.begin('--fault', 'stage=rcpt,action=delay,delay=400ms,rcpt=slow@*')
        c = self.connect(d)
        c.reply()
        c.ehlo()
        t0 = time.monotonic()
        c.send('MAIL FROM:<a@x.test>\r\nRCPT TO:<fast@x.test>\r\nRCPT TO:<slow@x.test>\r\nRCPT TO:<b@x.test>\r\n'
               'DATA\r\n')
        for _ in range(2):  # MAIL and the first RCPT are answered at once
            self.assertTrue(c.reply().startswith('250 '))
        self.assertLess(time.monotonic() - t0, 0.3)
        c.expect_silence(0.2)
        self.assertEqual([c.reply(timeout=2), c.reply(), c.reply()],
                         ['250 2.1.5 Recipient ok', '250 2.1.5 Recipient ok', '354 End data with <CR><LF>.<CR><LF>'])
        self.assertGreaterEqual(time.monotonic() - t0, 0.39)
        c.send(b'x\r\n.\r\n')
        self.assertRegex(c.reply(), QUEUED_RE)
        self.quit(c)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 6, 354: 1, 221: 1}, transactions=1, recipients=3)

    def test_a_delay_holds_up_no_other_connection_and_shutdown_lets_it_finish(self):
        d = self.begin('--threads', '1', '--fault', 'stage=message,action=delay,delay=1s')
        c = self.connect(d)
        body = reach(c, 'message', 'client.test')
        t0 = time.monotonic()
        c.send(body)
        other = self.connect(d)  # served meanwhile by the same (only) worker thread
        self.assertEqual(other.reply(), greeting())
        self.assertTrue(other.ehlo().startswith('250-mx.test\n'))
        self.assertLess(time.monotonic() - t0, 0.5)
        d.send_signal(signal.SIGTERM)
        self.assertEqual(other.reply(), SHUTTING_DOWN)  # idle: at once
        self.assertRegex(c.reply(timeout=3), QUEUED_RE)  # the delayed transaction finishes, then the 421
        self.assertGreaterEqual(time.monotonic() - t0, 0.99)
        self.assertEqual(c.reply(), SHUTTING_DOWN)
        s = d.wait(10)
        self.assertEqual(s.returncode, 0)
        self.assertEqual((s.totals['transactions'], s.totals['replies_421']), (1, 2))
