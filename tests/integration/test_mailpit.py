"""The Mailpit-compatible API's surface (--mailpit-listen): its listeners and their log lines, /livez and /readyz,
the 501 answers naming each Mailpit endpoint and search filter that is not implemented, its 400/404/405 answers,
one capture ring shared with the main API (a delete through either is seen by both), and the flag's errors;
Mailpit's chaos triggers (GET/PUT /api/v1/chaos) as fault rules beside those of /api/v1/faults;
summaries kept within --capture-bytes, and a message that takes seconds to parse leaving SMTP and the rest of
the API answering.
The client flows themselves (list, search, read, parts, delete, info) are run by Mailpit's own npm client in
tests/mailpit/."""
import json
import threading
import urllib.parse

from api import FlowTest
from daemon import listen_endpoints, run_binary
from faults import FaultTest
from http_client import http_request, metric
from messages import flow_message
from parsers import parse_kv
from replies import MAIL_OK, greeting
from smtp_client import Client

NOT_IMPLEMENTED = " is not implemented by smtp-blackhole's Mailpit-compatible API"


class MailpitTest(FlowTest):
    def begin_mailpit(self, *listen: str, args=()):
        d = self.begin(*[a for l in (listen or ('127.0.0.1:0',)) for a in ('--mailpit-listen', l)], *args)
        d.mailpit = listen_endpoints(d.lines, 'mailpit')
        self.assertEqual(len(d.mailpit), len(listen or ('127.0.0.1:0',)), d.lines)
        return d

    def mp(self, d, method: str, path: str, body: bytes | None = None):
        return http_request(d.mailpit[0][1], method, path, body=body)

    def assertText(self, r, status: int, body: bytes, what: str):
        self.assertEqual((r.status, r.content_type, r.body), (status, 'text/plain; charset=utf-8', body), what)


class TestListeners(MailpitTest):
    def test_each_listener_logged_once_and_probes_answer(self):
        d = self.begin_mailpit('127.0.0.1:0', '127.0.0.1:0', '[::1]:0')
        lines = [parse_kv(l) for l in d.lines if parse_kv(l).get('proto') == 'mailpit']
        self.assertEqual(len(lines), 3, d.lines)
        for (host, port), kv, shown in zip(d.mailpit, lines, ('127.0.0.1', '127.0.0.1', '[::1]')):
            self.assertNotEqual(port, 0)
            self.assertEqual((kv['level'], kv['msg'], kv['addr']),
                             ('info', f'listening mailpit {shown}:{port}', f'{shown}:{port}'))
        self.assertEqual(len({p for _, p in d.mailpit}), 3, d.mailpit)
        for _, port in d.mailpit[:2]:
            for path in ('/livez', '/readyz'):
                r = http_request(port, 'GET', path)
                self.assertText(r, 200, b'', path)
            self.assertEqual(json.loads(http_request(port, 'GET', '/api/v1/messages').body)['total'], 0)
        # The main API is not served on a Mailpit port, nor the Mailpit API on the main one.
        self.assertText(self.mp(d, 'GET', '/healthz'), 404, b'404 page not found', '/healthz')
        self.assertEqual(self.request(d, 'GET', '/api/v1/info').status, 404)

    def test_no_mailpit_listener_by_default(self):
        d = self.begin()
        self.assertEqual([l for l in d.lines if 'mailpit' in l], [], d.lines)

    def test_bad_flag_values_exit_2_with_one_line(self):
        for value in ('nonsense', '127.0.0.1:99999', '127.0.0.1', 'localhost:8025', '[::1]', ''):
            with self.subTest(value=value):
                self.assertExit2OneLine(['--smtp-listen', '127.0.0.1:0', '--mailpit-listen', value])

    def test_port_in_use_cannot_start(self):
        d = self.begin_mailpit()
        self.assertExit2OneLine(['--smtp-listen', '127.0.0.1:0', '--mailpit-listen', f'127.0.0.1:{d.mailpit[0][1]}'],
                                'smtp-blackhole: cannot start: cannot listen on 127.0.0.1:', logs_allowed=True)


class TestAnswers(MailpitTest):
    def test_endpoints_not_implemented_answer_501_naming_them(self):
        d = self.begin_mailpit()
        self.deliver(d, flow_message('f', 'one'))
        cases = [
            ('PUT', '/api/v1/messages', 'PUT /api/v1/messages'),
            ('POST', '/api/v1/send', 'POST /api/v1/send'),
            ('GET', '/api/v1/tags', 'GET /api/v1/tags'),
            ('PUT', '/api/v1/tags', 'PUT /api/v1/tags'),
            ('PUT', '/api/v1/tags/x', 'PUT /api/v1/tags/{tag}'),
            ('DELETE', '/api/v1/tags/x', 'DELETE /api/v1/tags/{tag}'),
            ('GET', '/api/v1/webui', 'GET /api/v1/webui'),
            ('GET', '/api/v1/swagger.json', 'GET /api/v1/swagger.json'),
            ('GET', '/api/events', 'GET /api/events'),
            ('GET', '/api/v1/message/1/part/1/thumb', 'GET /api/v1/message/{id}/part/{part}/thumb'),
            ('GET', '/api/v1/message/1/html-check', 'GET /api/v1/message/{id}/html-check'),
            ('GET', '/api/v1/message/latest/link-check', 'GET /api/v1/message/{id}/link-check'),
            ('GET', '/api/v1/message/1/sa-check', 'GET /api/v1/message/{id}/sa-check'),
            ('POST', '/api/v1/message/1/release', 'POST /api/v1/message/{id}/release'),
            ('GET', '/api/v1/search?query=after:2024-01-01', 'the search filter after:'),
            ('GET', '/api/v1/search?query=hello%20-before:2024-01-01', 'the search filter before:'),
            ('DELETE', '/api/v1/search?query=larger:1M', 'the search filter larger:'),
            ('GET', '/api/v1/search?query=SMALLER:1k', 'the search filter smaller:'),
        ]
        for method, path, what in cases:
            with self.subTest(method=method, path=path):
                r = self.mp(d, method, path, body=b'{}' if method in ('PUT', 'POST') else None)
                self.assertEqual((r.status, r.content_type), (501, 'application/json'), r)
                self.assertEqual(r.json(), {'Error': what + NOT_IMPLEMENTED})
        self.assertEqual(json.loads(self.mp(d, 'GET', '/api/v1/messages').body)['total'], 1, 'nothing deleted')

    def test_errors_as_mailpit_gives_them(self):
        d = self.begin_mailpit()
        self.assertText(self.mp(d, 'GET', '/api/v1/message/latest'), 404, b'Message not found', 'latest, empty')
        self.deliver(d, flow_message('f', 'one'))
        cases = [
            ('GET', '/nope', None, 404, b'404 page not found'),
            ('GET', '/api/v1/message/999', None, 404, b'Message not found'),
            ('GET', '/api/v1/message/abc/raw', None, 404, b'Message not found'),
            ('GET', '/api/v1/message/1/part/9', None, 404, b'Message part not found'),
            ('GET', '/view/1.pdf', None, 404, b'404 page not found'),
            ('GET', '/view/999.txt', None, 404, b'Message not found'),
            ('GET', '/view/1.html', None, 404, b'This message does not contain a HTML part'),
            ('GET', '/api/v1/search', None, 400, b'Error: no search query'),
            ('GET', '/api/v1/search?query=%20%20', None, 400, b'Error: no search query'),
            ('DELETE', '/api/v1/search', None, 400, b'Error: no search query'),
            ('POST', '/api/v1/info', None, 405, b'Method Not Allowed'),
            ('DELETE', '/api/v1/messages', b'{"IDs": [', 400, None),
        ]
        for method, path, body, status, text in cases:
            with self.subTest(method=method, path=path):
                r = self.mp(d, method, path, body)
                if text is None:
                    self.assertEqual(r.status, status, r)
                    self.assertTrue(r.body.startswith(b'invalid JSON body: '), r)
                else:
                    self.assertText(r, status, text, f'{method} {path}')
        self.assertEqual(json.loads(self.mp(d, 'GET', '/api/v1/messages').body)['total'], 1, 'nothing deleted')

    def test_one_ring_with_the_main_api(self):
        d = self.begin_mailpit()
        for i in range(3):
            self.deliver(d, flow_message(f'flow{i % 2}', f'subject {i}'))
        main_ids = [m['id'] for m in self.captured(d, 3)]
        body = json.loads(self.mp(d, 'GET', '/api/v1/messages').body)
        self.assertEqual([m['ID'] for m in body['messages']], [str(i) for i in main_ids])
        self.assertEqual([m['Tags'] for m in body['messages']], [['flow0'], ['flow1'], ['flow0']])
        self.assertEqual((body['total'], body['unread'], body['tags']), (3, 3, ['flow0', 'flow1']))
        # Delete one by ID (a string, as Mailpit's IDs are; an unknown one is skipped) through the Mailpit API.
        r = self.mp(d, 'DELETE', '/api/v1/messages', json.dumps({'IDs': [str(main_ids[1]), '777']}).encode())
        self.assertText(r, 200, b'ok', 'delete by IDs')
        self.assertEqual([m['id'] for m in self.messages(d)], [main_ids[0], main_ids[2]])
        # Emptied through the main API: the Mailpit API sees an empty mailbox.
        self.assertEqual(self.get_json(d, '/api/v1/messages', method='DELETE'), {'deleted': 2})
        body = json.loads(self.mp(d, 'GET', '/api/v1/messages').body)
        self.assertEqual((body['total'], body['messages'], body['tags']), (0, [], []))
        # And the other way round: DELETE with no body empties the ring the main API reads.
        self.deliver(d, flow_message('flow0', 'again'))
        self.assertEqual(len(self.captured(d, 1)), 1)
        self.assertText(self.mp(d, 'DELETE', '/api/v1/messages'), 200, b'ok', 'delete all')
        self.assertEqual(self.messages(d), [])
        info = json.loads(self.mp(d, 'GET', '/api/v1/info').body)
        self.assertEqual((info['Messages'], info['RuntimeStats']['MessagesDeleted'],
                          info['RuntimeStats']['SMTPAccepted']), (0, 2, 4))


def many_parts(n: int) -> bytes:
    """A multipart/mixed message of n small attachments: a parse takes ~30 us per part."""
    parts = ''.join(f'--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="f{i}.txt"'
                    f'\r\n\r\nx{i}\r\n' for i in range(n))
    return ('Subject: many parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' +
            parts + '--b--\r\n').encode()


class TestHeavyMessages(MailpitTest):
    def test_summaries_kept_within_capture_bytes(self):
        limit = 60000
        d = self.begin_mailpit(args=('--capture-bytes', str(limit), '--capture-messages', '1000'))
        for i in range(20):  # ~2.3 KB each: 47 KB, all kept, little room left for summaries
            words = ' '.join(f'word{j}' for j in range(300))
            self.deliver(d, f'X-Flow: mem\r\nSubject: note {i}\r\n\r\nneedle{i} {words}\r\n'.encode())
        met = self.metrics(d)
        kept, raw_bytes = metric(met, 'smtp_blackhole_capture_messages'), metric(met, 'smtp_blackhole_capture_bytes')
        self.assertEqual((kept, metric(met, 'smtp_blackhole_capture_evicted_total')), (20, 0))
        # Both searches parse every kept message; their summaries (the text folded for search, twice) cannot
        # all fit beside the raw bytes: some are kept, the rest used and dropped, and no message is evicted.
        self.assertEqual([m['subject'] for m in self.messages(d, 'q=needle19')], ['note 19'])
        r = json.loads(self.mp(d, 'GET', '/api/v1/search?' + urllib.parse.urlencode({'query': 'needle18'})).body)
        self.assertEqual([m['Subject'] for m in r['messages']], ['note 18'])
        self.assertEqual([m['subject'] for m in self.messages(d, 'q=needle17')], ['note 17'])
        met = self.metrics(d)
        self.assertEqual(metric(met, 'smtp_blackhole_capture_messages'), kept, 'reading never evicts')
        self.assertTrue(raw_bytes < metric(met, 'smtp_blackhole_capture_bytes') <= limit, met)
        # New mail makes room as before: raw bytes and kept summaries together stay within the bound.
        for i in range(20, 30):
            self.deliver(d, flow_message('mem', f'note {i}', 2000))
        self.assertLessEqual(metric(self.metrics(d), 'smtp_blackhole_capture_bytes'), limit)
        self.assertEqual(self.flow(d, 'mem')['messages'], 30)

    def test_slow_parse_leaves_smtp_and_the_api_answering(self):
        n = 100000  # ~10 MB, seconds to parse with GMime
        d = self.begin_mailpit(args=('--threads', '1', '--capture-max-message', '16M', '--capture-bytes', '64M'))
        self.deliver(d, many_parts(n))
        # The list's first read parses the message for its summary (seconds, longer on a loaded machine).
        listed = http_request(d.http_port, 'GET', '/api/v1/messages', timeout=120)
        self.assertEqual(listed.status, 200, listed)
        mid = listed.json()['messages'][0]['id']
        done = {}

        def fetch(name, port, path):
            done[name] = http_request(port, 'GET', path, timeout=120)

        readers = [threading.Thread(target=fetch, args=('api', d.http_port, f'/api/v1/messages/{mid}')),
                   threading.Thread(target=fetch, args=('mailpit', d.mailpit[0][1], f'/api/v1/message/{mid}'))]
        for t in readers:
            t.start()
        try:
            threading.Event().wait(0.2)  # both requests are read and their parses begin
            # The one worker thread serves SMTP and the HTTP listener while both parses run.
            for i in range(5):
                self.deliver(d, flow_message('light', f'during {i}'))
            self.assertEqual(self.flow(d, 'light')['messages'], 5)
            self.assertEqual(metric(self.metrics(d), 'smtp_blackhole_capture_messages'), 6)
            self.assertEqual(done, {}, 'the parses were still running while SMTP and the API answered')
        finally:
            for t in readers:
                t.join(150)
        self.assertEqual(done['api'].status, 200, done['api'])
        parts = json.loads(done['api'].body)['parts']
        self.assertEqual((len(parts), parts[0]['content_type'], parts[-1]['filename']),
                         (n + 1, 'multipart/mixed', f'f{n - 1}.txt'))
        self.assertEqual(done['mailpit'].status, 200, done['mailpit'])
        self.assertEqual(len(json.loads(done['mailpit'].body)['Attachments']), n)


OFF = {'Sender': {'ErrorCode': 451, 'Probability': 0}, 'Recipient': {'ErrorCode': 451, 'Probability': 0},
       'Authentication': {'ErrorCode': 535, 'Probability': 0}}


class TestChaos(MailpitTest, FaultTest):
    def put_chaos(self, d, body: bytes, status: int = 200):
        r = self.mp(d, 'PUT', '/api/v1/chaos', body)
        self.assertEqual(r.status, status, r)
        return r

    def chaos(self, d) -> dict:
        r = self.mp(d, 'GET', '/api/v1/chaos')
        self.assertEqual((r.status, r.content_type), (200, 'application/json'), r)
        self.assertEqual(list(r.json()), ['Sender', 'Recipient', 'Authentication'], 'Mailpit\'s field order')
        return r.json()

    def test_triggers_are_rules_of_their_own_beside_those_of_the_faults_api(self):
        d = self.begin_mailpit(args=('--auth', 'any', '--auth-insecure'))
        self.assertEqual(self.chaos(d), OFF, 'always enabled, Mailpit\'s defaults')
        self.assertEqual(self.add_faults(d, [{'stage': 'data', 'code': 554}]), [1])
        got = self.put_chaos(d, json.dumps({'Sender': {'ErrorCode': 421, 'Probability': 5},
                                            'Recipient': {'ErrorCode': 550, 'Probability': 100},
                                            'Authentication': {'ErrorCode': 454, 'Probability': 50}}).encode())
        want = {'Sender': {'ErrorCode': 421, 'Probability': 5}, 'Recipient': {'ErrorCode': 550, 'Probability': 100},
                'Authentication': {'ErrorCode': 454, 'Probability': 50}}
        self.assertEqual(got.json(), want)
        self.assertEqual(self.chaos(d), want)
        self.assertEqual([(f['id'], f['rule']) for f in self.faults(d)], [
            (1, {'stage': 'data', 'action': 'reply', 'code': 554}),
            (2, {'stage': 'mail', 'action': 'reply', 'code': 421, 'text': 'Chaos sender error', 'probability': 0.05}),
            (3, {'stage': 'rcpt', 'action': 'reply', 'code': 550, 'text': 'Chaos recipient error',
                 'probability': 1}),
            (4, {'stage': 'auth', 'action': 'reply', 'code': 454, 'text': 'Chaos authentication error',
                 'probability': 0.5})])
        # A trigger left out is reset (default code, 0%: no rule); the chaos rules are replaced, rule 1 stays.
        got = self.put_chaos(d, b'{"recipient": {"ErrorCode": 0, "Probability": 100}, "Extra": 1}').json()
        self.assertEqual(got, {**OFF, 'Recipient': {'ErrorCode': 451, 'Probability': 100}}, 'keys as Go matches them')
        self.assertEqual([(f['id'], f['rule']['stage'], f['rule']['code']) for f in self.faults(d)],
                         [(1, 'data', 554), (5, 'rcpt', 451)])
        # The rule refuses RCPT with Mailpit's text (and an enhanced code, as every reply here has).
        r = self.deliver_raw(d)
        self.assertEqual(r, '451 4.3.0 Chaos recipient error')
        # A chaos rule deleted through /api/v1/faults is off in GET /api/v1/chaos; DELETE all takes rule 1 too.
        self.assertEqual(self.delete_faults(d, 5).json(), {'deleted': 1})
        self.assertEqual(self.chaos(d), OFF)
        self.assertEqual(self.put_chaos(d, b'{}').json(), OFF)
        self.assertEqual([f['id'] for f in self.faults(d)], [1], 'an empty PUT leaves no chaos rule')

    def deliver_raw(self, d) -> str:
        """MAIL and RCPT on a raw session; the RCPT reply."""
        c = Client(d.port)
        try:
            self.assertEqual(c.reply(), greeting())
            self.assertTrue(c.ehlo('client.test').startswith('250-'))
            self.assertEqual(c.cmd('MAIL FROM:<app@example.test>'), MAIL_OK)
            return c.cmd('RCPT TO:<user@example.test>')
        finally:
            c.close()

    def test_bad_input_is_400_as_mailpit_answers_and_changes_nothing(self):
        d = self.begin_mailpit()
        set_ = {**OFF, 'Sender': {'ErrorCode': 452, 'Probability': 10}}
        self.assertEqual(self.put_chaos(d, json.dumps(set_).encode()).json(), set_)
        code = b'error code must be between 400 and 599'
        probability = b'probability must be between 0 and 100'
        cases = [
            ({'Sender': {'ErrorCode': 399, 'Probability': 1}}, code),
            ({'Recipient': {'ErrorCode': 600, 'Probability': 1}}, code),
            ({'Authentication': {'ErrorCode': -1}}, code),
            ({'Sender': {'ErrorCode': 451, 'Probability': 101}}, probability),
            ({'Recipient': {'Probability': -1}}, probability),
            ({'Sender': {'ErrorCode': 451, 'Probability': 1}, 'Recipient': {'ErrorCode': 200}}, code),
            ({'Sender': {'ErrorCode': '451'}},
             b'json: cannot unmarshal string into Go struct field Trigger.Sender.ErrorCode of type int'),
            ({'Recipient': {'Probability': 2.5}},
             b'json: cannot unmarshal number 2.5 into Go struct field Trigger.Recipient.Probability of type int'),
            ({'Sender': 5}, b'json: cannot unmarshal number 5 into Go struct field Triggers.Sender of type chaos.Trigger'),
            ([], b'json: cannot unmarshal array into Go value of type chaos.Triggers'),
        ]
        for body, text in cases:
            with self.subTest(body=body):
                self.assertText(self.put_chaos(d, json.dumps(body).encode(), 400), 400, text, str(body))
        r = self.put_chaos(d, b'{"Sender": ', 400)
        self.assertTrue(r.body.startswith(b'invalid JSON body: '), r)
        self.assertEqual(self.chaos(d), set_, 'nothing changed')
        self.assertEqual([f['rule']['code'] for f in self.faults(d)], [452])
        self.assertEqual(self.put_chaos(d, b'null').json(), OFF, 'null resets, as Go decodes it')
        self.assertEqual(self.faults(d), [])
        self.assertText(self.mp(d, 'DELETE', '/api/v1/chaos'), 405, b'Method Not Allowed', 'DELETE')
