"""The capture ring: its two bounds (messages and bytes) with evictions counted, truncation of large messages, raw
bytes exactly as received (8-bit DATA with dot-stuffed lines, binary BDAT, SMTPUTF8), message metadata and
headers (non-UTF-8 bytes as U+FFFD), newest-first order, the flow filter and limit, DELETE, and sampling
(--sample-rate, --sample-first-per-flow, whose quota restarts when the ring is emptied)."""
import time

from api import DETAIL_KEYS, FlowTest, parse_ts
from http_client import metric, quote
from messages import flow_message
from replies import BYE, MAIL_OK, QUEUED_RE, RCPT_OK


class CaptureCase(FlowTest):
    def subjects(self, ms):
        return [m['subject'] for m in ms]

    def assertGone(self, d, mid):
        for path in (f'/api/v1/messages/{mid}', f'/api/v1/messages/{mid}/raw'):
            self.assertError(self.request(d, 'GET', path), 404, path)


class TestBounds(CaptureCase):
    def test_message_count_bound_evicts_oldest(self):
        d = self.begin('--capture-messages', '3')
        msgs = []
        first_id = None
        for i in range(5):
            msg = flow_message('a' if i % 2 else 'b', f'm{i}', 200 + i)
            self.deliver(d, msg)
            msgs.append(msg)
            if i == 0:
                first = self.captured(d, 1)
                self.assertEqual(self.subjects(first), ['m0'])
                first_id = first[0]['id']
        met = self.metrics(d)
        self.assertEqual(metric(met, 'smtp_blackhole_capture_messages'), 3)
        self.assertEqual(metric(met, 'smtp_blackhole_capture_evicted_total'), 2)
        raw_bytes = sum(len(msgs[i]) for i in (2, 3, 4))
        self.assertEqual(metric(met, 'smtp_blackhole_capture_bytes'), raw_bytes)  # not listed yet: raw bytes only
        ms = self.captured(d, 3)
        self.assertEqual(self.subjects(ms), ['m4', 'm3', 'm2'])
        for m, i in zip(ms, (4, 3, 2)):
            self.assertEqual(self.raw(d, m['id']), msgs[i])
        self.assertGone(d, first_id)
        # Listed: each keeps its summary (decoded fields and search keys), counted beside its raw bytes.
        met = self.metrics(d)
        self.assertEqual(metric(met, 'smtp_blackhole_capture_messages'), 3)
        self.assertTrue(raw_bytes + 3 * 100 < metric(met, 'smtp_blackhole_capture_bytes') < raw_bytes + 3 * 2000, met)
        # Flows count every message, captured or not.
        self.assertEqual({n: f['messages'] for n, f in self.flows(d)[0].items()}, {'a': 2, 'b': 3})

    def test_byte_bound_evicts_oldest(self):
        d = self.begin('--capture-bytes', '10000', '--capture-messages', '100')
        for i in range(5):
            self.deliver(d, flow_message('f', f'm{i}', 3000))
        ms = self.captured(d, 3)
        self.assertEqual(self.subjects(ms), ['m4', 'm3', 'm2'])
        met = self.metrics(d)
        self.assertEqual(metric(met, 'smtp_blackhole_capture_messages'), 3)
        self.assertEqual(metric(met, 'smtp_blackhole_capture_evicted_total'), 2)
        held = metric(met, 'smtp_blackhole_capture_bytes')
        self.assertTrue(9000 <= held <= 10000, held)
        # A larger one pushes out as many as needed: 5000 + 3000 fits, 5000 + 2 * 3000 does not.
        self.deliver(d, flow_message('f', 'big', 5000))
        time.sleep(0.1)
        ms = self.captured(d, 2)
        self.assertEqual(self.subjects(ms), ['big', 'm4'])
        met = self.metrics(d)
        self.assertEqual(metric(met, 'smtp_blackhole_capture_messages'), 2)
        self.assertEqual(metric(met, 'smtp_blackhole_capture_evicted_total'), 4)
        self.assertTrue(8000 <= metric(met, 'smtp_blackhole_capture_bytes') <= 10000, met)
        self.assertEqual(self.flow(d, 'f')['messages'], 6)

    def test_truncation_keeps_header_and_a_prefix(self):
        d = self.begin('--capture-max-message', '1000')
        big = flow_message('t', 'big', 5000)
        exact = flow_message('t', 'exact', 1000)
        one_more = flow_message('t', 'one more', 1001)
        pad = b''.join(b'X-Pad-%02d: ' % i + b'p' * 40 + b'\r\n' for i in range(30))
        fat = flow_message('t', 'fat header', extra=pad)
        fat_header = fat[:fat.index(b'\r\n\r\n') + 4]
        self.assertGreater(len(fat_header), 1000)
        fat += b'b' * 498 + b'\r\n'
        for msg in (big, exact, one_more, fat):
            self.deliver(d, msg)
        ms = {m['subject']: m for m in self.captured(d, 4)}
        self.assertEqual(sorted(ms), ['big', 'exact', 'fat header', 'one more'])
        for subject, msg, truncated, raw in (('big', big, True, big[:1000]), ('exact', exact, False, exact),
                                             ('one more', one_more, True, one_more[:1000])):
            with self.subTest(subject):
                m = ms[subject]
                self.assertEqual((m['size'], m['truncated']), (len(msg), truncated), m)
                self.assertEqual(self.raw(d, m['id']), raw)
        m = ms['fat header']
        self.assertEqual((m['size'], m['truncated']), (len(fat), True), m)
        got = self.raw(d, m['id'])
        self.assertIn(got, (fat_header, fat_header[:-2]), 'the whole header section and no body')
        names = [h['name'] for h in self.message(d, m['id'])['headers']]
        self.assertEqual(names, ['X-Flow', 'Subject'] + [f'X-Pad-{i:02d}' for i in range(30)])
        # The flow counts the full sizes.
        self.assertEqual(self.flow(d, 't')['bytes'], len(big) + len(exact) + len(one_more) + len(fat))


    def test_header_section_over_64k(self):
        # Documented limit (README, "The capture ring"): the header section is read up to 64 KiB; a capture keeps
        # that much of it even past --capture-max-message, and fields beyond it are not seen (subject, flow).
        d = self.begin('--capture-max-message', '1000')
        pad = b''.join(b'X-Pad-%05d: ' % i + b'p' * 60 + b'\r\n' for i in range(1500))  # 112,500 octets
        header = pad + b'X-Flow: huge\r\nSubject: huge header\r\n\r\n'
        msg = header + b'body\r\n' * 10
        self.deliver(d, msg)
        (m,) = self.captured(d, 1)
        self.assertEqual((m['size'], m['truncated'], m['subject'], m['flow']), (len(msg), True, '', '_default'))
        self.assertEqual(self.raw(d, m['id']), header[:64 * 1024], 'the first 64 KiB of the header section')


class TestRaw(CaptureCase):
    def test_8bit_data_with_dot_stuffed_lines(self):
        d = self.begin()
        msg = (b'X-Flow: eight\r\nSubject: 8bit\r\n\r\n' + bytes(range(0x80, 0x100)) + b'\r\n'
               b'.leading dot\r\n.\r\n..two dots\r\n...\r\n \t.not leading\r\nend\r\n')
        c = self.smtp(d)
        self.assertRegex(self.transaction(c, msg, mail_params='BODY=8BITMIME'), QUEUED_RE)
        self.quit(c)
        (m,) = self.captured(d, 1)
        self.assertEqual((m['size'], m['subject'], m['flow'], m['truncated']), (len(msg), '8bit', 'eight', False))
        self.assertEqual(self.raw(d, m['id']), msg)
        self.assertEqual(self.flow(d, 'eight')['bytes'], len(msg))

    def test_binary_bdat_as_sent(self):
        d = self.begin()
        chunk1 = b'X-Flow: bin\r\nSubject: binary\r\n\r\n' + bytes(range(256)) * 3 + b'\r\n.\r\n'
        chunk2 = b'.\r\n..x\r\n\x00\r\r\n\n.\n\r.\r' + bytes(range(255, -1, -1))
        c = self.smtp(d)
        self.assertEqual(c.cmd('MAIL FROM:<bin@test> BODY=BINARYMIME'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<r@test>'), RCPT_OK)
        c.send(b'BDAT %d\r\n' % len(chunk1) + chunk1)
        self.assertEqual(c.reply(), f'250 2.0.0 {len(chunk1)} octets received')
        c.send(b'BDAT %d LAST\r\n' % len(chunk2) + chunk2)
        self.assertRegex(c.reply(), QUEUED_RE)
        self.quit(c)
        (m,) = self.captured(d, 1)
        self.assertEqual((m['size'], m['subject'], m['flow'], m['mail_from']),
                         (len(chunk1) + len(chunk2), 'binary', 'bin', 'bin@test'))
        self.assertEqual(self.raw(d, m['id']), chunk1 + chunk2)
        self.assertEqual(self.flow(d, 'bin')['bytes'], len(chunk1) + len(chunk2))

    def test_smtputf8_message(self):
        d = self.begin()
        sender, rcpt = 'j\u00f6rg@t\u00ebst.example', 'andr\u00e9@ex\u00e4mple.test'
        subject = 'gr\u00fc\u00dfe \u2713'
        msg = (f'X-Flow: utf8\r\nFrom: {sender}\r\nSubject: {subject}\r\n\r\nK\u00f6ln \u2603\r\n'
               '.dot\r\n').encode()
        c = self.smtp(d)
        self.assertRegex(self.transaction(c, msg, mail_from=sender, rcpts=[rcpt], mail_params='SMTPUTF8'),
                         QUEUED_RE)
        self.quit(c)
        (m,) = self.captured(d, 1)
        self.assertEqual((m['mail_from'], m['rcpt_to'], m['subject'], m['size']), (sender, [rcpt], subject, len(msg)))
        self.assertEqual(self.raw(d, m['id']), msg)
        self.assertEqual(self.message(d, m['id'])['headers'],
                         [{'name': 'X-Flow', 'value': 'utf8'}, {'name': 'From', 'value': sender},
                          {'name': 'Subject', 'value': subject}])


class TestMetadata(CaptureCase):
    def test_message_fields_and_headers(self):
        d = self.begin()
        msg = (b'X-Flow: meta\r\nSubject: hello\r\n world\r\nx-lower:value\r\nX-Tab: a\r\n\tb\r\n'
               b'From: <sender@src.test>\r\n\r\nBody: not a header\r\n')
        t0 = time.time()
        c = self.smtp(d, helo='client.example')
        local_port = c.sock.getsockname()[1]
        self.assertRegex(self.transaction(c, msg, mail_from='sender@src.test',
                                          rcpts=['one@dst.test', 'two+x@dst.test']), QUEUED_RE)
        self.quit(c)
        t1 = time.time()
        (m,) = self.captured(d, 1)
        self.assertEqual({k: m[k] for k in ('flow', 'mail_from', 'rcpt_to', 'size', 'subject', 'client', 'helo',
                                            'tls', 'truncated')},
                         {'flow': 'meta', 'mail_from': 'sender@src.test', 'rcpt_to': ['one@dst.test', 'two+x@dst.test'],
                          'size': len(msg), 'subject': 'hello world', 'client': f'127.0.0.1:{local_port}',
                          'helo': 'client.example', 'tls': None, 'truncated': False})
        self.assertTrue(t0 - 1 <= parse_ts(m['received_at']) <= t1 + 1, (t0, m['received_at'], t1))
        full = self.message(d, m['id'])
        self.assertEqual(full['headers'], [
            {'name': 'X-Flow', 'value': 'meta'},
            {'name': 'Subject', 'value': 'hello world'},
            {'name': 'x-lower', 'value': 'value'},
            {'name': 'X-Tab', 'value': 'a\tb'},
            {'name': 'From', 'value': '<sender@src.test>'},
        ])
        self.assertEqual({k: full[k] for k in m}, m)  # MSG's fields, and the decoded message besides
        self.assertEqual(sorted(set(full) - set(m)), sorted(('headers',) + DETAIL_KEYS))
        self.assertEqual((m['from'], m['attachments'], full['to'], full['text']),
                         ({'name': '', 'address': 'sender@src.test'}, 0, [], 'Body: not a header\n'))
        self.assertEqual(self.raw(d, m['id']), msg)

    def test_null_sender_and_default_flow(self):
        d = self.begin()
        msg = b'Subject: bounce\r\n\r\nreturned\r\n'
        self.deliver(d, msg, mail_from='', rcpts=['a@test', 'b@test', 'c@test'], helo='[127.0.0.1]')
        (m,) = self.captured(d, 1)
        self.assertEqual((m['flow'], m['mail_from'], m['rcpt_to'], m['helo'], m['subject']),
                         ('_default', '', ['a@test', 'b@test', 'c@test'], '[127.0.0.1]', 'bounce'))

    def test_no_subject(self):
        d = self.begin()
        self.deliver(d, b'X-Flow: ns\r\n\r\nno subject here\r\n')
        (m,) = self.captured(d, 1)
        self.assertIn(m['subject'], ('', None))
        self.assertEqual(self.message(d, m['id'])['headers'], [{'name': 'X-Flow', 'value': 'ns'}])

    def test_order_filter_limit(self):
        d = self.begin()
        for i in range(6):
            self.deliver(d, flow_message('a' if i % 2 == 0 else 'b', f's{i}'))
        all_ = self.captured(d, 6)
        self.assertEqual(self.subjects(all_), ['s5', 's4', 's3', 's2', 's1', 's0'])
        self.assertEqual([m['flow'] for m in all_], ['b', 'a'] * 3)
        self.deliver(d, flow_message('a/b+c', 'enc'))  # a name that needs percent-encoding in the query
        self.assertEqual(self.subjects(self.messages(d, 'flow=' + quote('a/b+c'))), ['enc'])
        self.assertEqual(self.subjects(self.messages(d, 'flow=a%2Fb%2Bc')), ['enc'])
        self.assertEqual(self.get_json(d, '/api/v1/messages', method='DELETE'), {'deleted': 7})
        for i in range(6):
            self.deliver(d, flow_message('a' if i % 2 == 0 else 'b', f's{i}'))
        self.captured(d, 6)
        cases = [('flow=a', ['s4', 's2', 's0']), ('flow=b', ['s5', 's3', 's1']), ('limit=2', ['s5', 's4']),
                 ('flow=a&limit=1', ['s4']), ('limit=1&flow=b', ['s5']), ('flow=zzz', []),
                 ('limit=1000', ['s5', 's4', 's3', 's2', 's1', 's0'])]
        for q, want in cases:
            with self.subTest(q):
                self.assertEqual(self.subjects(self.messages(d, q)), want)

    def test_default_limit_is_50(self):
        d = self.begin()
        c = self.smtp(d)
        for i in range(60):
            self.assertRegex(self.transaction(c, flow_message('many', f'n{i}')), QUEUED_RE)
        self.quit(c)
        self.captured(d, 50)
        self.assertEqual(self.subjects(self.messages(d)), [f'n{i}' for i in range(59, 9, -1)])
        self.assertEqual(len(self.messages(d, 'limit=1000')), 60)

    def test_delete_messages(self):
        d = self.begin()
        for i in range(4):
            self.deliver(d, flow_message('del', f'd{i}'))
        ids = [m['id'] for m in self.captured(d, 4)]
        self.assertEqual(len(ids), 4)
        self.assertEqual(self.get_json(d, '/api/v1/messages', method='DELETE'), {'deleted': 4})
        self.assertEqual(self.messages(d), [])
        for mid in ids:
            self.assertGone(d, mid)
        met = self.metrics(d)
        self.assertEqual((metric(met, 'smtp_blackhole_capture_messages'), metric(met, 'smtp_blackhole_capture_bytes')),
                         (0, 0))
        self.assertEqual(self.get_json(d, '/api/v1/messages', method='DELETE'), {'deleted': 0})
        self.assertEqual(self.flow(d, 'del')['messages'], 4, 'deleting messages does not touch the flows')
        self.deliver(d, flow_message('del', 'after'))
        self.assertEqual(self.subjects(self.captured(d, 1)), ['after'])


    def test_non_utf8_header_bytes_show_as_replacement_characters(self):
        d = self.begin()
        msg = b'X-Flow: latin\r\nSubject: caf\xe9 \xff\r\nX-Bin: a\x80b\r\n\r\nbody \xe9\r\n'
        self.deliver(d, msg, mail_params='BODY=8BITMIME')
        (m,) = self.captured(d, 1)
        # The decoded subject reads 8-bit text that is not UTF-8 as ISO-8859-1 (GMime's guess); the header
        # fields as they stand show such bytes as U+FFFD.
        self.assertEqual(m['subject'], 'caf\u00e9 \u00ff')
        self.assertEqual(self.message(d, m['id'])['headers'],
                         [{'name': 'X-Flow', 'value': 'latin'}, {'name': 'Subject', 'value': 'caf\ufffd \ufffd'},
                          {'name': 'X-Bin', 'value': 'a\ufffdb'}])
        self.assertEqual(self.raw(d, m['id']), msg)


class TestSampling(CaptureCase):
    def send_plan(self, d, plan):
        c = self.smtp(d)
        for i, name in enumerate(plan):
            self.assertRegex(self.transaction(c, flow_message(name, f'{name or "d"}{i}')), QUEUED_RE)
        self.quit(c)

    def test_rate_0_keeps_the_first_n_of_each_flow(self):
        d = self.begin('--sample-rate', '0', '--sample-first-per-flow', '2')
        plan = ['a', 'b', None, 'a', 'b', None, 'a', 'b', None, 'a', None, 'a']
        self.send_plan(d, plan)
        ms = self.captured(d, 6)
        time.sleep(0.2)
        ms = self.messages(d)
        self.assertEqual(self.subjects(ms), ['d5', 'b4', 'a3', 'd2', 'b1', 'a0'])
        fl, _ = self.flows(d)
        self.assertEqual({n: f['messages'] for n, f in fl.items()}, {'a': 5, 'b': 3, '_default': 4})
        self.assertEqual(metric(self.metrics(d), 'smtp_blackhole_capture_messages'), 6)

    def test_rate_0_default_first_is_one(self):
        d = self.begin('--sample-rate', '0')
        self.send_plan(d, ['a', 'a', 'b', 'a', 'b'])
        self.captured(d, 2)
        time.sleep(0.2)
        self.assertEqual(self.subjects(self.messages(d)), ['b2', 'a0'])

    def test_first_per_flow_quota_restarts_when_the_ring_is_emptied(self):
        d = self.begin('--sample-rate', '0', '--sample-first-per-flow', '1')
        self.send_plan(d, ['a', 'a', 'b'])
        self.captured(d, 2)
        time.sleep(0.2)
        self.assertEqual(self.subjects(self.messages(d)), ['b2', 'a0'])
        self.assertEqual(self.get_json(d, '/api/v1/messages', method='DELETE'), {'deleted': 2})
        self.send_plan(d, ['a', 'a', 'c'])
        self.captured(d, 2)
        time.sleep(0.2)
        self.assertEqual(self.subjects(self.messages(d)), ['c2', 'a0'])

    def test_rate_0_first_0_keeps_nothing(self):
        d = self.begin('--sample-rate', '0', '--sample-first-per-flow', '0')
        self.send_plan(d, ['a', 'b', None, 'a', 'b'])
        time.sleep(0.3)
        self.assertEqual(self.messages(d), [])
        met = self.metrics(d)
        self.assertEqual((metric(met, 'smtp_blackhole_capture_messages'), metric(met, 'smtp_blackhole_capture_bytes'),
                          metric(met, 'smtp_blackhole_capture_evicted_total')), (0, 0, 0))
        self.assertEqual(metric(met, 'smtp_blackhole_transactions_total'), 5)

    def test_rate_1_keeps_all(self):
        d = self.begin('--sample-rate', '1', '--sample-first-per-flow', '0')
        plan = ['a', 'b', None, 'a', 'b', 'c', 'a']
        self.send_plan(d, plan)
        ms = self.captured(d, len(plan))
        self.assertEqual(self.subjects(ms), [f'{n or "d"}{i}' for i, n in reversed(list(enumerate(plan)))])

    def test_rate_half_keeps_about_half(self):
        d = self.begin('--sample-rate', '0.5', '--sample-first-per-flow', '0')
        self.send_plan(d, ['r'] * 200)
        time.sleep(0.3)
        n = len(self.messages(d, 'limit=1000'))
        # Binomial(200, 0.5): sd about 7; 50..150 is more than 7 sd either side.
        self.assertTrue(50 <= n <= 150, f'{n} of 200 kept at --sample-rate 0.5')
        self.assertEqual(self.flow(d, 'r')['messages'], 200)


class TestNoCaptureOfRefused(CaptureCase):
    def test_refused_message_is_not_captured(self):
        d = self.begin('--max-message-size', '500')
        c = self.smtp(d)
        got = self.transaction(c, flow_message('x', 'too big', 800))
        self.assertTrue(got.startswith('552 '), got)
        self.assertRegex(self.transaction(c, flow_message('x', 'fits', 300)), QUEUED_RE)
        self.assertEqual(c.cmd('QUIT'), BYE)
        self.captured(d, 1)
        time.sleep(0.2)
        self.assertEqual(self.subjects(self.messages(d)), ['fits'])
