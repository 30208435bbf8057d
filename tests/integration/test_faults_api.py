"""The fault rules' API and what it reports: POST one rule or a list (201 with the ids; 400 naming the bad key and
nothing added), GET with the counters, DELETE one or all, a rule changed while a session is open applies to its
next command, spent rules leave the list, the note about header flows, "faults" per flow and the metric; two flows
in parallel where a rule scoped to one never touches the other; the same --fault-seed giving the same firings; the
flags' errors and start-up lines."""
import smtplib
import threading

from faults import FaultTest
from http_client import http_request
from parsers import parse_kv
from replies import MAIL_OK, RCPT_OK

NOTE = ('at stage rcpt no header is read yet: the flow is what the envelope\'s extractors name (or _default); a flow '
        'named by a header matches from stage message on')


class TestFaultApi(FaultTest):
    def test_post_get_delete(self):
        d = self.begin('--fault-seed', '99')
        body = self.post_faults(d, {'stage': 'rcpt', 'code': '451', 'text': 'later', 'flow': 'signup', 'first': 2})
        self.assertEqual(body, {'ids': [1], 'faults': [
            {'id': 1, 'rule': {'stage': 'rcpt', 'action': 'reply', 'code': 451, 'text': 'later', 'flow': 'signup',
                               'first': 2}, 'seen': 0, 'fired': 0, 'note': NOTE}]})
        ids = self.add_faults(d, [{'stage': 'message', 'action': 'delay', 'delay': 0.25, 'code': 554},
                                  {'stage': 'data', 'action': 'disconnect', 'reset': True, 'probability': 0.5},
                                  {'stage': 'quit', 'action': 'silence', 'every': 3, 'times': 2}])
        self.assertEqual(ids, [2, 3, 4])
        got = self.get_json(d, '/api/v1/faults')
        self.assertEqual(got['seed'], 99)
        self.assertEqual([f['rule'] for f in got['faults']], [
            {'stage': 'rcpt', 'action': 'reply', 'code': 451, 'text': 'later', 'flow': 'signup', 'first': 2},
            {'stage': 'message', 'action': 'delay', 'code': 554, 'delay': '250ms'},
            {'stage': 'data', 'action': 'disconnect', 'reset': True, 'probability': 0.5},
            {'stage': 'quit', 'action': 'silence', 'every': 3, 'times': 2}])
        self.assertEqual([f['note'] for f in got['faults']], [NOTE, None, None, None])
        self.assertEqual(self.delete_faults(d, 3).json(), {'deleted': 1})
        self.assertError(self.delete_faults(d, 3), 404, 'a deleted id')
        self.assertError(self.delete_faults(d, 77), 404, 'an unknown id')
        self.assertError(self.request(d, 'DELETE', '/api/v1/faults/x'), 404, 'not a number')
        self.assertEqual([f['id'] for f in self.faults(d)], [1, 2, 4])
        self.assertEqual(self.delete_faults(d).json(), {'deleted': 3})
        self.assertEqual(self.faults(d), [])
        self.assertEqual(self.add_faults(d, [{'stage': 'ehlo', 'code': 550}]), [5])  # ids are never reused
        self.assertError(self.request(d, 'PUT', '/api/v1/faults'), 405, 'PUT')

    def test_a_bad_rule_is_400_naming_its_key_and_adds_nothing(self):
        d = self.begin()
        self.add_faults(d, [{'stage': 'rcpt', 'code': 451}])
        cases = [
            ({'stage': 'rcpt', 'code': 200}, 'code', "code: must be a reply code from 400 to 599, not '200'"),
            ({'stage': 'rcpt', 'code': 451, 'colour': 'red'}, 'colour', 'colour: unknown key (use stage, action, '
             'code, text, delay, reset, flow, rcpt, mail_from, probability, first, every, times)'),
            ({'code': 451}, 'stage', 'stage: required: one of connect, ehlo, mail, rcpt, data, message, starttls, '
             'auth, quit'),
            ({'stage': 'rcpt', 'code': 451, 'first': [1]}, 'first', 'first: must be a string, a number or true/false'),
            ({'stage': 'rcpt', 'code': 451, 'probability': 2}, 'probability',
             "probability: must be a number from 0 to 1, not '2'"),
            ({'stage': 'rcpt', 'code': 451, 'text': 'a\r\nb'}, 'text',
             'text: must not hold control characters (CR, LF, TAB...)'),
            ([{'stage': 'rcpt', 'code': 451}, {'stage': 'rcpt', 'action': 'delay'}, {'stage': 'mail', 'code': 451}],
             'delay', 'rule 2 of 3: delay: required with action=delay'),
            ([], None, 'an empty list: give at least one rule'),
            ('just text', None, 'a rule must be a JSON object of keys and values'),
            (b'{"stage": ', None, None),
        ]
        for rules, key, message in cases:
            with self.subTest(rules=rules):
                body = self.post_faults(d, rules, status=400)
                self.assertEqual(sorted(body), ['error', 'key'], body)
                self.assertEqual(body['key'], key)
                if message is None:
                    self.assertTrue(body['error'].startswith('the body is not JSON: '), body)
                else:
                    self.assertEqual(body['error'], message)
        self.assertEqual(len(self.faults(d)), 1)  # nothing of the bad lists was added

    def test_rules_change_between_commands_of_an_open_session_and_spent_rules_leave(self):
        d = self.begin()
        c = self.smtp(d)
        self.assertEqual(c.cmd('MAIL FROM:<a@x.test>'), MAIL_OK)
        [fid] = self.add_faults(d, [{'stage': 'rcpt', 'code': 452, 'times': 2}])
        self.assertEqual(c.cmd('RCPT TO:<u@x.test>'), '452 4.3.1 Insufficient system storage, try again later')
        self.assertEqual(self.delete_faults(d, fid).json(), {'deleted': 1})
        self.assertEqual(c.cmd('RCPT TO:<u@x.test>'), RCPT_OK)
        self.add_faults(d, [{'stage': 'rcpt', 'code': 450, 'times': 2}])
        for _ in range(2):
            self.assertEqual(c.cmd('RCPT TO:<v@x.test>'), '450 4.2.0 Mailbox unavailable, try again later')
        self.assertEqual(self.faults(d), [])  # fired twice: spent and gone
        self.assertEqual(c.cmd('RCPT TO:<v@x.test>'), RCPT_OK)
        self.quit(c)
        f = self.flow(d, '_default')
        self.assertEqual((f['refused_by_code'], f['faults']), ({'450': 2, '452': 1}, {'rcpt:450': 2, 'rcpt:452': 1}))
        self.assertEqual(self.injections(d), {('rcpt', 'reply', '450'): 2, ('rcpt', 'reply', '452'): 1})
        self.request(d, 'DELETE', '/api/v1/flows')
        self.assertEqual(self.flow(d, '_default')['faults'], {})  # a reset forgets them; the metric does not
        self.assertEqual(self.injections(d), {('rcpt', 'reply', '450'): 2, ('rcpt', 'reply', '452'): 1})

    def test_two_flows_in_parallel_a_rule_scoped_to_one_never_touches_the_other(self):
        # At rcpt only the envelope names a flow (rcpt-tag): no recipient carries +noisy, so the second rule never
        # fires, and it does not touch the +quiet recipients either.
        d = self.begin('--threads', '2', '--fault', 'stage=message,code=451,flow=noisy',
                       '--fault', 'stage=rcpt,action=disconnect,flow=noisy')
        n, errors, outcomes = 40, [], {'quiet': 0, 'noisy': 0}
        lock = threading.Lock()

        def sender(flow, rcpt):
            try:
                for i in range(n):
                    try:
                        with smtplib.SMTP('127.0.0.1', d.port, local_hostname='c.test', timeout=10) as s:
                            s.sendmail('a@x.test', [rcpt], f'X-Flow: {flow}\r\nSubject: {i}\r\n\r\nx\r\n'.encode())
                        with lock:
                            outcomes[flow] += 1
                    except smtplib.SMTPDataError as e:
                        self.assertEqual((e.smtp_code, flow), (451, 'noisy'))
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(f'{flow}: {e!r}')

        threads = [threading.Thread(target=sender, args=a) for a in
                   (('quiet', 'u@x.test'), ('noisy', 'v@x.test'), ('quiet', 'w+quiet@x.test'))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(outcomes, {'quiet': 2 * n, 'noisy': 0})
        flows, _ = self.flows(d)
        self.assertEqual((flows['quiet']['messages'], flows['quiet']['refused_by_code'], flows['quiet']['faults']),
                         (2 * n, {}, {}))
        self.assertEqual((flows['noisy']['messages'], flows['noisy']['refused_by_code'], flows['noisy']['faults']),
                         (0, {'451': n}, {'message:451': n}))
        self.assertEqual([(f['seen'], f['fired']) for f in self.faults(d)], [(n, n), (0, 0)])

    def pattern(self, seed: str) -> tuple[list[str], list[str]]:
        """The replies to 60 RCPTs on a fresh daemon's first connection under a 50% rule, and its log."""
        d = self.begin('--fault-seed', seed, '--fault', 'stage=rcpt,code=451,probability=0.5')
        c = self.smtp(d)
        c.cmd('MAIL FROM:<a@x.test>')
        replies = [c.cmd(f'RCPT TO:<r{i}@x.test>')[:3] for i in range(60)]
        self.quit(c)
        [f] = self.faults(d)
        self.assertEqual((f['seen'], f['fired']), (60, replies.count('451')))
        self.stop(d)
        return replies, d.lines

    def test_the_same_seed_gives_the_same_firings(self):
        a, lines = self.pattern('12345')
        self.assertEqual(parse_kv(next(l for l in lines if 'msg=started' in l))['fault_seed'], '12345')
        self.assertEqual(self.pattern('12345')[0], a)
        self.assertNotEqual(self.pattern('54321')[0], a)
        self.assertGreater(a.count('451'), 15)
        self.assertGreater(a.count('250'), 15)

    def test_flag_errors_are_one_line_naming_the_key_and_rules_are_logged_at_start(self):
        for args, why in ((['--fault', 'stage=rcpt,code=200'],
                           "--fault 'stage=rcpt,code=200': code: must be a reply code from 400 to 599, not '200'"),
                          (['--fault', 'stage=rcpt,code=451', '--fault', 'stage=rcpt,codes=451'],
                           "--fault 'stage=rcpt,codes=451': codes: unknown key"),
                          (['--fault', 'stage=mail,code=451,rcpt=x@y'],
                           "--fault 'stage=mail,code=451,rcpt=x@y': rcpt: no recipient is known at stage mail"),
                          (['--fault-seed', 'abc'], '--fault-seed must be a whole number from 0 to 18446744073709551615'),
                          (['--fault-seed', '18446744073709551616'], '--fault-seed must be')):
            with self.subTest(args=args):
                self.assertExit2OneLine(args, prefix='smtp-blackhole: ' + why)
        d = self.begin('--fault', 'stage=rcpt,code=451,flow=signup', '--fault', ' stage = message , code = 554 ')
        logged = [parse_kv(l) for l in d.lines if 'msg="fault rule"' in l]
        self.assertEqual([(kv['level'], kv['id'], kv['rule'], kv.get('note')) for kv in logged], [
            ('warn', '1', 'stage=rcpt,action=reply,code=451,flow=signup', NOTE),
            ('info', '2', 'stage=message,action=reply,code=554', None)])
        seed = int(parse_kv(next(l for l in d.lines if 'msg=started' in l))['fault_seed'])
        self.assertEqual(self.get_json(d, '/api/v1/faults')['seed'], seed)
        self.assertEqual(http_request(d.http_port, 'GET', '/api/v1/faults').status, 200)
