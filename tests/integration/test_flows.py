"""Flows: exact per-flow counts under concurrency (API, /metrics and the final totals agree), every flow-key
extractor (auth-user after AUTH PLAIN, `none`) and their fallback order, sanitised names and the 128-byte cap,
the --max-flows bound (_overflow), refusals per flow by code, the long-poll wait (early answer and timeout),
resets (a reset of all frees the --max-flows bound), the header field split across BDAT chunks and reads or after
64 KiB of other fields, and flag errors."""
import base64
import smtplib
import threading
import time

from api import FlowTest, parse_ts
from http_client import metric, metric_labels, quote
from messages import flow_message
from parsers import parse_kv, stuff
from replies import BYE, DATA_GO, MAIL_OK, QUEUED_RE, RCPT_OK, SIZE_EXCEEDED, TOO_MANY_RCPTS, UNSUPPORTED_PARAM


class FlowCase(FlowTest):
    def flow_counts(self, d) -> dict[str, tuple[int, int, int]]:
        fl, _ = self.flows(d)
        return {n: self.counts(f) for n, f in fl.items()}

    def assertLandsIn(self, d, expected: str, send, what: str) -> None:
        """Runs send() (one accepted message) and checks that exactly the flow `expected` gained it."""
        before = {n: f['messages'] for n, f in self.flows(d)[0].items()}
        send()
        after = {n: f['messages'] for n, f in self.flows(d)[0].items()}
        gained = {n: after[n] - before.get(n, 0) for n in after if after[n] != before.get(n, 0)}
        self.assertEqual(gained, {expected: 1}, f'{what}: the message should count under {expected!r}')


class TestExactCounts(FlowCase):
    def test_concurrent_senders_exact_per_flow(self):
        k_conns, per_conn, n_flows = 8, 40, 5
        d = self.begin('--threads', '2')
        expected = {}  # flow -> [messages, recipients, bytes]
        lock = threading.Lock()
        errors = []

        def sender(k):
            try:
                with smtplib.SMTP('127.0.0.1', d.port, local_hostname=f'c{k}.test', timeout=20) as s:
                    for i in range(per_conn):
                        flow = f'flow-{(k * 7 + i) % n_flows}'
                        rcpts = [f'u{j}@k{k}.test' for j in range(1 + (k + i) % 3)]
                        msg = flow_message(flow, f'k{k} i{i}', 300 + (k * 31 + i * 17) % 900)
                        self.assertEqual(s.sendmail(f's{k}@test', rcpts, msg), {})
                        with lock:
                            e = expected.setdefault(flow, [0, 0, 0])
                            e[0] += 1
                            e[1] += len(rcpts)
                            e[2] += len(msg)
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(f'sender {k}: {e!r}')

        # Scrapes while the senders run: the counters never go down and never pass the final numbers.
        scrapes = []
        senders_done = threading.Event()

        def scraper():
            try:
                while not senders_done.is_set() and len(scrapes) < 500:
                    m = self.metrics(d)
                    scrapes.append((metric(m, 'smtp_blackhole_transactions_total'),
                                    sum(metric_labels(m, 'smtp_blackhole_flow_messages_total', 'flow').values())))
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(f'scraper: {e!r}')

        self.run_beside([lambda k=k: sender(k) for k in range(k_conns)], scraper, senders_done)
        self.assertEqual(errors, [])
        self.assertGreater(len(scrapes), 1)
        for a, b in zip(scrapes, scrapes[1:]):
            self.assertLessEqual(a[0], b[0], 'transactions_total went down')
            self.assertLessEqual(a[1], b[1], 'the sum of flow_messages_total went down')
        self.assertLessEqual(max(s[1] for s in scrapes), k_conns * per_conn)
        want = {n: tuple(v) for n, v in expected.items()}
        self.assertEqual(len(want), n_flows)
        self.assertEqual(sum(v[0] for v in want.values()), k_conns * per_conn)

        self.assertEqual(self.flow_counts(d), want)
        for name, counts in want.items():
            f = self.flow(d, name)
            self.assertTrue(f['seen'])
            self.assertEqual(self.counts(f), counts, name)
            self.assertEqual((f['refused'], f['refused_by_code']), (0, {}), name)
        m = self.metrics(d)
        for fam, idx in (('smtp_blackhole_flow_messages_total', 0), ('smtp_blackhole_flow_recipients_total', 1),
                         ('smtp_blackhole_flow_bytes_total', 2)):
            got = {n: v for n, v in metric_labels(m, fam, 'flow').items() if v != 0}
            self.assertEqual(got, {n: float(c[idx]) for n, c in want.items()}, fam)
        self.assertEqual(metric(m, 'smtp_blackhole_transactions_total'), k_conns * per_conn)

        # Every message is in the capture ring (default --sample-rate 1), under its flow.
        captured = self.captured(d, k_conns * per_conn, 'limit=1000')
        self.assertEqual(len(captured), k_conns * per_conn)
        for m in captured:
            k, i = (int(x[1:]) for x in m['subject'].split())
            self.assertEqual(m['flow'], f'flow-{(k * 7 + i) % n_flows}', m)
            self.assertEqual((m['mail_from'], m['helo']), (f's{k}@test', f'c{k}.test'), m)
        self.assertEqual(len({m['subject'] for m in captured}), k_conns * per_conn)

        t = self.stop(d)
        self.assertEqual(t['transactions'], sum(v[0] for v in want.values()))
        self.assertEqual(t['recipients'], sum(v[1] for v in want.values()))
        self.assertEqual(t['bytes'], sum(v[2] for v in want.values()))
        self.assertEqual(t['connections'], k_conns)
        self.assertEqual(t['refused'], 0)


class TestExtractors(FlowCase):
    def test_default_key_header_then_rcpt_tag_then_default(self):
        d = self.begin()
        cases = [
            # (what, message, recipients, expected flow)
            ('header wins over the tag', flow_message('signup', 'a'), ['u+tag@x.test'], 'signup'),
            ('tag without the header', flow_message(None, 'b'), ['u+tag@x.test'], 'tag'),
            ('neither', flow_message(None, 'c'), ['plain@x.test'], '_default'),
            ('blank header falls through', b'X-Flow:    \r\nSubject: d\r\n\r\nbody\r\n', ['u+tag2@x.test'], 'tag2'),
            ('only the first recipient', flow_message(None, 'e'), ['plain@x.test', 'u+late@x.test'], '_default'),
            ('text after the first plus', flow_message(None, 'f'), ['a+b+c@x.test'], 'b+c'),
            ('empty tag', flow_message(None, 'g'), ['a+@x.test'], '_default'),
            ('header name case', b'x-FLOW: lower\r\nSubject: h\r\n\r\nbody\r\n', ['p@x.test'], 'lower'),
            ('no space after the colon', b'X-Flow:nospace\r\nSubject: i\r\n\r\nbody\r\n', ['p@x.test'], 'nospace'),
            ('in the body it is no header', b'Subject: j\r\n\r\nX-Flow: inbody\r\n', ['p@x.test'], '_default'),
            ('another header name', b'X-Flow-Id: other\r\nSubject: k\r\n\r\nbody\r\n', ['p@x.test'], '_default'),
        ]
        for what, msg, rcpts, want in cases:
            with self.subTest(what):
                self.assertLandsIn(d, want, lambda: self.deliver(d, msg, rcpts=rcpts), what)

    def test_header_extractor_case_folding_trimming_first(self):
        d = self.begin('--flow-key', 'header:X-Test-Flow')
        h = lambda hdr: hdr + b'\r\nSubject: s\r\n\r\nbody\r\n'  # noqa: E731
        cases = [
            ('plain', h(b'X-Test-Flow: alpha'), 'alpha'),
            ('name case-insensitive', h(b'x-test-FLOW: beta'), 'beta'),
            ('folded with a space', h(b'X-Test-Flow: gam\r\n ma'), 'gam_ma'),
            ('folded with a tab', h(b'X-Test-Flow: a\r\n\tb'), 'a_b'),
            ('value on the continuation line', h(b'X-Test-Flow:\r\n   delta'), 'delta'),
            ('trimmed both sides', h(b'X-Test-Flow: \t eps \t '), 'eps'),
            ('first occurrence', b'X-Test-Flow: first\r\nSubject: s\r\nX-Test-Flow: second\r\n\r\nb\r\n', 'first'),
            ('later in the header section', b'Subject: s\r\nFrom: <a@b>\r\nX-Test-Flow: late\r\n\r\nb\r\n', 'late'),
            ('X-Flow is not the key', b'X-Flow: nope\r\nSubject: s\r\n\r\nb\r\n', '_default'),
        ]
        for what, msg, want in cases:
            with self.subTest(what):
                self.assertLandsIn(d, want, lambda: self.deliver(d, msg, rcpts=['u+tag@x.test']), what)

    def test_rcpt_tag(self):
        d = self.begin('--flow-key', 'rcpt-tag')
        for what, rcpts, want in (('tag', ['user+news@x.test'], 'news'),
                                  ('tag case kept', ['user+NeWs@x.test'], 'NeWs'),
                                  ('header is not the key', ['plain@x.test'], '_default'),
                                  ('first recipient only', ['a+one@x.test', 'b+two@x.test'], 'one')):
            with self.subTest(what):
                self.assertLandsIn(d, want, lambda: self.deliver(d, flow_message('hdr', what), rcpts=rcpts), what)

    def test_rcpt_domain(self):
        d = self.begin('--flow-key', 'rcpt-domain')
        for what, rcpts, want in (('lower-cased', ['u@Example.COM'], 'example.com'),
                                  ('first recipient', ['a@First.test', 'b@second.test'], 'first.test'),
                                  ('with a tag', ['u+t@tagged.test'], 'tagged.test')):
            with self.subTest(what):
                self.assertLandsIn(d, want, lambda: self.deliver(d, flow_message('hdr', what), rcpts=rcpts), what)

    def test_mail_from(self):
        d = self.begin('--flow-key', 'mail-from')
        for what, sender, want in (('as given', 'Some.One+x@Example.com', 'Some.One+x@Example.com'),
                                   ('null sender', '', '_default')):
            with self.subTest(what):
                self.assertLandsIn(d, want, lambda: self.deliver(d, flow_message('hdr', what), mail_from=sender),
                                   what)

    def test_mail_from_domain(self):
        d = self.begin('--flow-key', 'mail-from-domain')
        for what, sender, want in (('lower-cased', 'a@Sub.Example.ORG', 'sub.example.org'),
                                   ('null sender', '', '_default')):
            with self.subTest(what):
                self.assertLandsIn(d, want, lambda: self.deliver(d, flow_message('hdr', what), mail_from=sender),
                                   what)

    def test_helo(self):
        d = self.begin('--flow-key', 'helo')
        for helo in ('client.example', 'Mixed.Case.Example', '[127.0.0.1]'):
            with self.subTest(helo):
                self.assertLandsIn(d, helo, lambda: self.deliver(d, flow_message('hdr', helo), helo=helo), helo)

    def test_auth_user_is_empty_without_auth(self):
        d = self.begin('--flow-key', 'auth-user')
        self.assertLandsIn(d, '_default', lambda: self.deliver(d, flow_message('hdr', 'x'), rcpts=['a+t@x.test']),
                           'auth-user')

    def test_fallback_order(self):
        d = self.begin('--flow-key', 'auth-user,header:X-App,mail-from-domain,helo')
        cases = [
            ('header first', flow_message(None, 'a', extra=b'X-App: app1\r\n'), 'a@Dom.test', 'h1.test', 'app1'),
            ('then the sender domain', flow_message(None, 'b'), 'a@Dom.test', 'h1.test', 'dom.test'),
            ('then helo', flow_message(None, 'c'), '', 'h2.test', 'h2.test'),
            ('blank header falls through', flow_message(None, 'd', extra=b'X-App: \r\n'), '', 'h3.test', 'h3.test'),
        ]
        for what, msg, sender, helo, want in cases:
            with self.subTest(what):
                self.assertLandsIn(d, want, lambda: self.deliver(d, msg, mail_from=sender, helo=helo), what)

    def test_auth_user(self):
        d = self.begin('--auth', 'any', '--auth-insecure', '--flow-key', 'auth-user,rcpt-tag')
        for what, user, want in (('plain user', 'alice', 'alice'), ('sanitised', 'bob smith\u00e9', 'bob_smith__')):
            with self.subTest(what):
                def send():
                    c = self.smtp(d)
                    token = base64.b64encode(b'\0' + user.encode() + b'\0secret').decode()
                    self.assertEqual(c.cmd(f'AUTH PLAIN {token}'), '235 2.7.0 Authentication successful')
                    for i in range(2):  # the user stays for every transaction of the session
                        self.assertRegex(self.transaction(c, flow_message('hdr', f'{what} {i}'),
                                                          rcpts=['u+tag@x.test']), QUEUED_RE)
                    self.quit(c)
                before = self.flow(d, want)['messages']
                send()
                self.assertEqual(self.flow(d, want)['messages'] - before, 2, what)
        # Without AUTH the next extractor names the flow.
        self.assertLandsIn(d, 'tag', lambda: self.deliver(d, flow_message('hdr', 'x'), rcpts=['u+tag@x.test']),
                           'no AUTH')

    def test_flow_key_none(self):
        d = self.begin('--flow-key', 'none')
        for what, msg, rcpts in (('header', flow_message('signup', 'a'), ['u+tag@x.test']),
                                 ('tag', flow_message(None, 'b'), ['u+tag@x.test']),
                                 ('nothing', flow_message(None, 'c'), ['p@x.test'])):
            with self.subTest(what):
                self.assertLandsIn(d, '_default', lambda: self.deliver(d, msg, rcpts=rcpts), what)
        self.assertEqual(sorted(self.flows(d)[0]), ['_default'])

    def test_bad_flow_key_lists_exit_2(self):
        for key in ('bogus', 'header', 'header:', 'rcpt-tag,nope', 'helo;rcpt-tag', 'rcpt-tags', 'mail-to'):
            with self.subTest(key=key):
                self.assertExit2OneLine(['--smtp-listen', '127.0.0.1:0', '--flow-key', key])

    def test_bad_flow_and_capture_flags_exit_2(self):
        cases = [
            ['--max-flows', 'many'], ['--max-flows', '-1'],
            ['--capture-messages', 'x'], ['--capture-messages', '-1'],
            ['--capture-bytes', '12Q'], ['--capture-bytes', 'big'],
            ['--capture-max-message', '1X'], ['--capture-max-message', 'big'],
            ['--sample-rate', '1.5'], ['--sample-rate', '-0.1'], ['--sample-rate', 'half'],
            ['--sample-first-per-flow', 'x'], ['--sample-first-per-flow', '-1'],
            ['--http-listen', 'nonsense'], ['--http-listen', '127.0.0.1:99999'], ['--http-listen', '127.0.0.1'],
        ]
        for args in cases:
            with self.subTest(args=args):
                self.assertExit2OneLine(['--smtp-listen', '127.0.0.1:0'] + args)


class TestNames(FlowCase):
    def test_sanitised_and_capped_names(self):
        d = self.begin()
        cases = [
            ('quote and backslash', b'a"b\\c', 'a_b_c'),
            ('inner space', b'two words', 'two_words'),
            ('8-bit bytes, one per byte', 'caf\u00e9'.encode(), 'caf__'),
            ('control bytes and DEL', b'c\x01d\x7fe', 'c_d_e'),
            ('printable punctuation kept', b'a/b?c#d%e&f=g+h', 'a/b?c#d%e&f=g+h'),
            ('exactly 128 bytes', b'y' * 128, 'y' * 128),
            ('200 bytes cut to 128', b'x' * 200, 'x' * 128),
            ('cut inside a UTF-8 character', b'a' * 127 + '\u00e9'.encode(), 'a' * 127 + '_'),
            ('100 two-byte characters', '\u00e9'.encode() * 100, '_' * 128),
        ]
        for what, raw, want in cases:
            with self.subTest(what):
                msg = b'X-Flow: ' + raw + b'\r\nSubject: s\r\n\r\nbody\r\n'
                self.assertLandsIn(d, want, lambda: self.deliver(d, msg, mail_params='BODY=8BITMIME'), what)
                f = self.flow(d, want)  # percent-encoded in the path, decoded by the daemon
                self.assertEqual((f['seen'], f['messages'], f['bytes']), (True, 1, len(msg)), what)
        # The same names in /metrics (label values need no escaping after sanitising).
        got = {n: v for n, v in metric_labels(self.metrics(d), 'smtp_blackhole_flow_messages_total', 'flow').items()
               if v}
        self.assertEqual(got, {want: 1.0 for _, _, want in cases})

    def test_rcpt_tag_is_sanitised_too(self):
        d = self.begin('--flow-key', 'rcpt-tag')
        # The tag a\u00e9b is 4 bytes: a, two bytes of UTF-8, b.
        self.assertLandsIn(d, 'a__b', lambda: self.deliver(d, flow_message(None, 'u'), rcpts=['u+a\u00e9b@x.test'],
                                                             mail_params='SMTPUTF8'), 'UTF-8 tag')

    def test_max_flows_overflow(self):
        d = self.begin('--max-flows', '3')
        sizes = {}
        plan = ['f1', 'f2', 'f3', None, 'f4', 'f5', 'f4', 'f1', None, 'f2']
        for i, name in enumerate(plan):
            msg = flow_message(name, f'm{i}', 200 + 10 * i)
            self.deliver(d, msg)
            key = name or '_default'
            if name in ('f4', 'f5'):
                key = '_overflow'
            c = sizes.setdefault(key, [0, 0, 0])
            c[0] += 1
            c[1] += 1
            c[2] += len(msg)
        want = {n: tuple(v) for n, v in sizes.items()}
        self.assertEqual(want['_overflow'][0], 3)
        fl, overflow = self.flows(d)
        self.assertEqual({n: self.counts(f) for n, f in fl.items()}, want)
        self.assertEqual(overflow, 3)
        m = self.metrics(d)
        self.assertEqual(metric(m, 'smtp_blackhole_flows_overflow_total'), 3)
        self.assertEqual(metric(m, 'smtp_blackhole_flow_messages_total', flow='_overflow'), 3)
        self.assertEqual(metric(m, 'smtp_blackhole_flow_messages_total', flow='f1'), 2)
        self.assertIsNone(metric(m, 'smtp_blackhole_flow_messages_total', flow='f4'))
        self.assertIsNotNone(metric(m, 'smtp_blackhole_flows_tracked'))
        # One warning, however many messages overflow.
        started = next(i for i, l in enumerate(d.lines) if parse_kv(l).get('msg') == 'started')
        warn = lambda lines: [l for l in lines[started:] if parse_kv(l).get('level') == 'warn']  # noqa: E731
        d.wait_until(lambda lines: len(warn(lines)) >= 1, 3, 'the overflow warning')
        self.deliver(d, flow_message('f6', 'more'))
        time.sleep(0.2)  # a second warning would come with the message it is about
        self.assertEqual(len(warn(d.lines)), 1, warn(d.lines))
        self.assertEqual(self.flows(d)[1], 4)
        # A reset empties the table and the overflow count.
        self.assertEqual(self.request(d, 'DELETE', '/api/v1/flows').status, 200)
        fl, overflow = self.flows(d)
        self.assertEqual((fl, overflow), ({}, 0))
        t = self.stop(d)
        self.assertEqual(t['transactions'], len(plan) + 1)


class TestRefusals(FlowCase):
    def test_552_at_end_of_data_counts_under_the_header_flow(self):
        d = self.begin('--max-message-size', '500')
        c = self.smtp(d)
        self.assertEqual(self.transaction(c, flow_message('big', 'too big', 800)), SIZE_EXCEEDED)
        ok = flow_message('big', 'fits', 300)
        self.assertRegex(self.transaction(c, ok), QUEUED_RE)
        small = flow_message('small', 'small', 100)
        self.assertRegex(self.transaction(c, small), QUEUED_RE)
        # No header: the envelope names the flow (the default key's rcpt-tag).
        self.assertEqual(self.transaction(c, flow_message(None, 'tagged', 900), rcpts=['u+tagx@test']),
                         SIZE_EXCEEDED)
        # A 552 to MAIL (SIZE=) is not inside a flow.
        got = c.cmd('MAIL FROM:<s@test> SIZE=100000')
        self.assertEqual(got, SIZE_EXCEEDED)
        self.quit(c)
        fl, _ = self.flows(d)
        self.assertEqual(sorted(fl), ['big', 'small', 'tagx'])
        self.assertEqual((self.counts(fl['big']), fl['big']['refused'], fl['big']['refused_by_code']),
                         ((1, 1, len(ok)), 1, {'552': 1}))
        self.assertEqual((self.counts(fl['small']), fl['small']['refused_by_code']), ((1, 1, len(small)), {}))
        self.assertEqual((self.counts(fl['tagx']), fl['tagx']['refused'], fl['tagx']['refused_by_code']),
                         ((0, 0, 0), 1, {'552': 1}))
        m = self.metrics(d)
        self.assertEqual(metric(m, 'smtp_blackhole_flow_refused_total', flow='big', code='552'), 1)
        self.assertEqual(metric(m, 'smtp_blackhole_flow_refused_total', flow='tagx', code='552'), 1)
        got = {k: v for k, v in m.items() if k[0] == 'smtp_blackhole_flow_refused_total' and v}
        self.assertEqual(len(got), 2, got)
        t = self.stop(d)
        self.assertEqual((t['transactions'], t['refused'], t['replies_552']), (2, 3, 3))

    def test_rcpt_refusals_count_under_the_envelope_flow(self):
        d = self.begin('--max-recipients', '2')
        c = self.smtp(d)
        self.assertEqual(c.cmd('MAIL FROM:<s@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<u+tagged@test>'), RCPT_OK)
        self.assertEqual(c.cmd('RCPT TO:<v@test> FOO=1'), UNSUPPORTED_PARAM)
        self.assertEqual(c.cmd('RCPT TO:<w@test>'), RCPT_OK)
        self.assertEqual(c.cmd('RCPT TO:<x@test>'), TOO_MANY_RCPTS)
        self.assertEqual(c.cmd('RCPT TO:<y+other@test>'), TOO_MANY_RCPTS)
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        msg = flow_message('hdr', 'with header', 400)  # known only at the end of data
        c.send(stuff(msg) + b'.\r\n')
        self.assertRegex(c.reply(), QUEUED_RE)
        self.assertEqual(c.cmd('QUIT'), BYE)
        fl, _ = self.flows(d)
        self.assertEqual(sorted(fl), ['hdr', 'tagged'])
        self.assertEqual((self.counts(fl['hdr']), fl['hdr']['refused_by_code']), ((1, 2, len(msg)), {}))
        self.assertEqual((self.counts(fl['tagged']), fl['tagged']['refused'], fl['tagged']['refused_by_code']),
                         ((0, 0, 0), 3, {'452': 2, '555': 1}))
        m = self.metrics(d)
        self.assertEqual(metric(m, 'smtp_blackhole_flow_refused_total', flow='tagged', code='452'), 2)
        self.assertEqual(metric(m, 'smtp_blackhole_flow_refused_total', flow='tagged', code='555'), 1)
        t = self.stop(d)
        self.assertEqual((t['transactions'], t['recipients'], t['refused']), (1, 2, 3))


class TestHeaderSection(FlowCase):
    """Where the header field sits: split across BDAT chunks or TCP writes, a message without a body, a BDAT
    refusal, and a field after more than 64 KiB of other header fields."""

    def test_header_split_across_bdat_chunks_and_writes(self):
        d = self.begin()
        c = self.smtp(d)
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<u+envelope@test>'), RCPT_OK)
        c.send(b'BDAT 4\r\nX-Fl')
        self.assertEqual(c.reply(), '250 2.0.0 4 octets received')
        rest = b'ow: split\r\n\r\nbody\r\n'
        c.send(b'BDAT %d LAST\r\n' % len(rest) + rest)
        self.assertRegex(c.reply(), QUEUED_RE)
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<u+envelope@test>'), RCPT_OK)
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        for piece in (b'Subject: x\r\nX-Fl', b'ow: dsp', b'lit\r', b'\n\r\nbody\r\n.\r\n'):
            c.send(piece)
            time.sleep(0.05)  # separate reads
        self.assertRegex(c.reply(), QUEUED_RE)
        self.assertRegex(self.transaction(c, b'X-Flow: nobody\r\n'), QUEUED_RE)  # all header, no body
        self.quit(c)
        self.assertEqual({n: f['messages'] for n, f in self.flows(d)[0].items()},
                         {'split': 1, 'dsplit': 1, 'nobody': 1})

    def test_bdat_552_counts_under_the_header_flow(self):
        d = self.begin('--max-message-size', '100')
        c = self.smtp(d)
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<u+env@test>'), RCPT_OK)
        chunk = b'X-Flow: bdatbig\r\n\r\n' + b'a' * 40
        c.send(b'BDAT %d\r\n' % len(chunk) + chunk)
        self.assertEqual(c.reply(), f'250 2.0.0 {len(chunk)} octets received')
        c.send(b'BDAT 60 LAST\r\n' + b'b' * 60)
        self.assertEqual(c.reply(), SIZE_EXCEEDED)
        self.quit(c)
        fl, _ = self.flows(d)
        self.assertEqual({n: (f['messages'], f['refused_by_code']) for n, f in fl.items()},
                         {'bdatbig': (0, {'552': 1})})

    def test_field_after_64k_of_header_fields_is_not_seen(self):
        # Documented limit: flow keys read the first 64 KiB of the header section (README, "Flows").
        d = self.begin()
        pad = b''.join(b'X-Pad-%05d: ' % i + b'p' * 60 + b'\r\n' for i in range(1500))  # 112,500 octets
        msg = pad + b'X-Flow: late\r\nSubject: s\r\n\r\nbody\r\n'
        self.assertLandsIn(d, 'env', lambda: self.deliver(d, msg, rcpts=['u+env@test']),
                           'X-Flow after 112,500 octets of other header fields: the next extractor names it')


class TestWait(FlowCase):
    def later(self, delay, fn):
        """Runs fn after delay seconds in a thread; returns (thread, errors)."""
        errors = []

        def run():
            time.sleep(delay)
            try:
                fn()
            except Exception as e:  # noqa: BLE001 (reported by the caller)
                errors.append(repr(e))
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, errors

    def test_wait_answers_as_soon_as_reached(self):
        d = self.begin()
        t, errors = self.later(0.5, lambda: [self.deliver(d, flow_message('w1', f'm{i}')) for i in range(3)])
        r = self.request(d, 'GET', '/api/v1/flows/w1/wait?messages=3&timeout=20', timeout=30)
        t.join(10)
        self.assertEqual(errors, [])
        self.assertEqual(r.status, 200, r)
        self.assertLess(r.elapsed, 8, 'the wait should answer soon after the third message, not at its timeout')
        self.assertGreater(r.elapsed, 0.4, 'answered before the messages were sent')
        f = r.json()
        self.assertFlowShape(f, 'w1')
        self.assertEqual(f['messages'], 3)
        # Already reached: at once.
        r = self.request(d, 'GET', '/api/v1/flows/w1/wait?messages=2&timeout=20')
        self.assertEqual(r.status, 200, r)
        self.assertLess(r.elapsed, 1.0)
        self.assertEqual(r.json()['messages'], 3)

    def test_wait_default_is_one_message(self):
        d = self.begin()
        t, errors = self.later(0.3, lambda: self.deliver(d, flow_message('w2', 'one')))
        r = self.request(d, 'GET', '/api/v1/flows/w2/wait?timeout=15', timeout=25)
        t.join(10)
        self.assertEqual(errors, [])
        self.assertEqual(r.status, 200, r)
        self.assertLess(r.elapsed, 8)
        self.assertEqual(r.json()['messages'], 1)

    def test_wait_percent_encoded_flow_name(self):
        d = self.begin()
        t, errors = self.later(0.3, lambda: self.deliver(d, flow_message('a/b c', 'enc')))
        r = self.request(d, 'GET', f'/api/v1/flows/{quote("a/b_c")}/wait?messages=1&timeout=15', timeout=25)
        t.join(10)
        self.assertEqual(errors, [])
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()['flow'], r.json()['messages']), ('a/b_c', 1))

    def test_wait_times_out_with_408_and_the_current_counts(self):
        d = self.begin()
        for i in range(2):
            self.deliver(d, flow_message('w3', f'm{i}'))
        r = self.request(d, 'GET', '/api/v1/flows/w3/wait?messages=3&timeout=1', timeout=10)
        self.assertEqual(r.status, 408, r)
        self.assertGreater(r.elapsed, 0.9, 'answered before its timeout')
        self.assertLess(r.elapsed, 2.0, 'answered long after its timeout')
        f = r.json()
        self.assertFlowShape(f, 'w3')
        self.assertEqual((f['seen'], f['messages']), (True, 2))
        # A fractional timeout, on a flow never seen.
        r = self.request(d, 'GET', '/api/v1/flows/never/wait?timeout=0.5', timeout=10)
        self.assertEqual(r.status, 408, r)
        self.assertGreater(r.elapsed, 0.4)
        self.assertLess(r.elapsed, 1.5)
        f = r.json()
        self.assertFlowShape(f, 'never')
        self.assertFalse(f['seen'])

    def test_concurrent_waits_on_different_flows(self):
        d = self.begin()
        results = {}

        def waiter(name, n, timeout):
            results[name] = self.request(d, 'GET', f'/api/v1/flows/{name}/wait?messages={n}&timeout={timeout}',
                                         timeout=30)
        ws = [threading.Thread(target=waiter, args=a, daemon=True)
              for a in (('p', 2, 15), ('q', 1, 15), ('r', 1, 1.5))]
        for w in ws:
            w.start()
        time.sleep(0.3)
        self.deliver(d, flow_message('p', 'p1'))
        self.deliver(d, flow_message('q', 'q1'))
        self.deliver(d, flow_message('p', 'p2'))
        for w in ws:
            w.join(20)
        self.assertEqual({k: (r.status, r.json()['messages']) for k, r in results.items()},
                         {'p': (200, 2), 'q': (200, 1), 'r': (408, 0)})
        self.assertLess(results['p'].elapsed, 8)
        self.assertLess(results['q'].elapsed, 8)


class TestResets(FlowCase):
    def test_reset_one_flow_then_all(self):
        d = self.begin()
        sizes = {'a': [], 'b': []}
        for name in ('a', 'b', 'a', 'b', 'b'):
            msg = flow_message(name, 'x', 150 + 10 * len(sizes[name]))
            self.deliver(d, msg)
            sizes[name].append(len(msg))
        old_a = self.flow(d, 'a')
        self.assertEqual(self.counts(old_a), (2, 2, sum(sizes['a'])))

        r = self.request(d, 'DELETE', '/api/v1/flows/a')
        self.assertEqual(r.status, 200, r)
        fl, _ = self.flows(d)
        self.assertEqual({n: self.counts(f) for n, f in fl.items()}, {'b': (3, 3, sum(sizes['b']))})
        a = self.flow(d, 'a')
        self.assertFalse(a['seen'])
        self.assertEqual(self.counts(a), (0, 0, 0))
        m = self.metrics(d)
        self.assertIn(metric(m, 'smtp_blackhole_flow_messages_total', flow='a'), (None, 0.0))
        self.assertEqual(metric(m, 'smtp_blackhole_flow_messages_total', flow='b'), 3)

        time.sleep(0.01)
        msg = flow_message('a', 'again', 222)
        self.deliver(d, msg)
        a = self.flow(d, 'a')
        self.assertEqual(self.counts(a), (1, 1, 222))
        self.assertGreaterEqual(parse_ts(a['first_seen']), parse_ts(old_a['last_seen']))

        r = self.request(d, 'DELETE', '/api/v1/flows')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.flows(d), ({}, 0))
        for name in ('a', 'b'):
            f = self.flow(d, name)
            self.assertEqual((f['seen'], self.counts(f)), (False, (0, 0, 0)), name)
        m = self.metrics(d)
        self.assertEqual({n: v for n, v in metric_labels(m, 'smtp_blackhole_flow_messages_total', 'flow').items()
                          if v}, {})
        self.assertEqual(metric(m, 'smtp_blackhole_transactions_total'), 6, 'resets do not touch the totals')

        msg = flow_message('b', 'after', 333)
        self.deliver(d, msg)
        fl, _ = self.flows(d)
        self.assertEqual({n: self.counts(f) for n, f in fl.items()}, {'b': (1, 1, 333)})
        t = self.stop(d)
        self.assertEqual((t['transactions'], t['bytes']), (7, sum(sizes['a']) + sum(sizes['b']) + 222 + 333))

    def test_reset_all_frees_the_max_flows_bound(self):
        d = self.begin('--max-flows', '2')
        for name in ('a', 'b', 'c'):
            self.deliver(d, flow_message(name, name))
        fl, overflow = self.flows(d)
        self.assertEqual(({n: f['messages'] for n, f in fl.items()}, overflow), ({'a': 1, 'b': 1, '_overflow': 1}, 1))
        self.assertEqual(self.request(d, 'DELETE', '/api/v1/flows').status, 200)
        for name in ('c', 'd', 'e'):
            self.deliver(d, flow_message(name, name))
        fl, overflow = self.flows(d)
        self.assertEqual(({n: f['messages'] for n, f in fl.items()}, overflow), ({'c': 1, 'd': 1, '_overflow': 1}, 1))
        # The metric counts every message ever put under _overflow (never reset).
        self.assertEqual(metric(self.metrics(d), 'smtp_blackhole_flows_overflow_total'), 2)

    def test_unseen_flow(self):
        d = self.begin()
        for name in ('nothing', '_default', '_overflow'):
            with self.subTest(name):
                f = self.flow(d, name)
                self.assertFalse(f['seen'])
        self.assertEqual(self.flows(d), ({}, 0))
        self.deliver(d, flow_message(None, 'x'))
        self.assertEqual(self.counts(self.flow(d, '_default'))[0], 1)
        self.assertFalse(self.flow(d, '_overflow')['seen'])
