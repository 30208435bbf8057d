"""Message inspection through the API: the corpus (tests/corpus/) sent with smtplib and read back decoded (subject,
addresses, date, Message-ID, text, HTML, the MIME tree), parts downloaded byte for byte (checked against Python's
own email parser) with their Content-Type and Content-Disposition, the search filters and paging, a truncated
capture, and malformed messages that never fail a request."""
from __future__ import annotations

import email
import email.policy
import random
import smtplib
import urllib.parse

from api import FlowTest
from corpus import EXPECTED, NAMES, corpus, part

GROUP = {name: name.split('_')[0] for name in NAMES}  # python, nodemailer, malformed: the flow (rcpt-tag)
SENDER = {'python': 'py-app@sender.test', 'nodemailer': 'node-app@sender.test', 'malformed': 'fuzz@sender.test'}
LIST_KEYS = ('subject', 'from', 'attachments')


class InspectCase(FlowTest):
    def send(self, d, raw: bytes, mail_from: str, rcpts) -> None:
        with smtplib.SMTP('127.0.0.1', d.port, local_hostname='client.test', timeout=10) as s:
            self.assertEqual(s.sendmail(mail_from, list(rcpts), raw, mail_options=['BODY=8BITMIME']), {})

    def send_corpus(self, d) -> dict[str, int]:
        """Sends every corpus message in NAMES' order; returns {name: id}."""
        for name in NAMES:
            rcpts = [f'inbox+{GROUP[name]}@rcpt.test'] + (['audit@rcpt.test'] if name == 'python_latin1' else [])
            self.send(d, corpus(name), SENDER[GROUP[name]], rcpts)
        ms = self.captured(d, len(NAMES))
        self.assertEqual(len(ms), len(NAMES))
        return {name: m['id'] for name, m in zip(NAMES, reversed(ms))}

    def ids(self, d, query: str) -> list[int]:
        return [m['id'] for m in self.messages(d, query)]

    def names(self, d, ids: dict[str, int], query: str) -> list[str]:
        by_id = {v: k for k, v in ids.items()}
        return [by_id[i] for i in self.ids(d, query)]

    def download(self, d, mid: int, pid: str):
        r = self.request(d, 'GET', f'/api/v1/messages/{mid}/parts/{pid}')
        self.assertEqual(r.status, 200, f'{mid}/{pid}: {r}')
        return r


class TestDecoded(InspectCase):
    def test_every_corpus_message_decoded(self):
        d = self.begin()
        ids = self.send_corpus(d)
        for name in NAMES:
            with self.subTest(name):
                m = self.message(d, ids[name])
                self.assertEqual({k: m[k] for k in EXPECTED[name]}, EXPECTED[name])
                self.assertEqual((m['size'], m['truncated'], m['flow']), (len(corpus(name)), False, GROUP[name]))
                self.assertEqual(self.raw(d, ids[name]), corpus(name))

    def test_list_gives_decoded_subject_sender_and_attachments(self):
        d = self.begin()
        ids = self.send_corpus(d)
        listed = {m['id']: m for m in self.messages(d)}
        for name in NAMES:
            with self.subTest(name):
                self.assertEqual({k: listed[ids[name]][k] for k in LIST_KEYS},
                                 {k: EXPECTED[name][k] for k in LIST_KEYS})
                self.assertNotIn('parts', listed[ids[name]])
        # A second listing answers the same (from the summaries kept with the messages).
        self.assertEqual({m['id']: m for m in self.messages(d)}, listed)


class TestParts(InspectCase):
    def test_downloads_match_pythons_decoding_byte_for_byte(self):
        d = self.begin()
        ids = self.send_corpus(d)
        for name in NAMES[:-1]:  # the malformed one decodes differently in every parser
            leaves = [p for p in EXPECTED[name]['parts'] if not p['content_type'].startswith('multipart/')]
            theirs = [p for p in email.message_from_bytes(corpus(name), policy=email.policy.default).walk()
                      if not p.is_multipart()]
            self.assertEqual(len(leaves), len(theirs), name)
            for ours, their in zip(leaves, theirs):
                with self.subTest(name=name, part=ours['id']):
                    body = self.download(d, ids[name], ours['id']).body
                    self.assertEqual(body, their.get_payload(decode=True))
                    self.assertEqual(len(body), ours['size'])

    def test_download_headers(self):
        d = self.begin()
        ids = self.send_corpus(d)
        cases = [
            ('python_shift_jis', '1', 'text/plain; charset=shift_jis', None),
            ('python_no_mime', '1', 'text/plain', None),
            ('python_attachment', '2', 'application/pdf',
             'attachment; filename="Rechnung M_rz 2026.pdf"; filename*=UTF-8\'\'Rechnung%20M%C3%A4rz%202026.pdf'),
            ('python_attachment', '3', 'text/csv',
             'attachment; filename="_bersicht der Bestellungen f_r den Monat M_rz zweitausendsechsundzwanzig.csv"; '
             "filename*=UTF-8''" + urllib.parse.quote(EXPECTED['python_attachment']['parts'][3]['filename'])),
            ('nodemailer_related', '1.2.2', 'image/png', 'inline; filename="logo.png"'),
            ('nodemailer_related', '2', 'text/plain; charset=utf-8',
             'attachment; filename="____-_______ ___ ______ _____ _____ ___ __ ________ _____.txt"; '
             "filename*=UTF-8''" + urllib.parse.quote(EXPECTED['nodemailer_related']['parts'][6]['filename'])),
            ('malformed', '2', 'application/octet-stream', 'attachment; filename="data.bin"'),
        ]
        for name, pid, content_type, disposition in cases:
            with self.subTest(name=name, part=pid):
                r = self.download(d, ids[name], pid)
                self.assertEqual(r.content_type, content_type)
                self.assertEqual(r.headers.get('content-disposition'), disposition)
        self.assertEqual(self.download(d, ids['nodemailer_related'], '2').body, 'Итого: 42 ₽\n'.encode())
        self.assertEqual(self.download(d, ids['malformed'], '2').body, b'Hello World')

    def test_message_content_runs_nothing_on_the_daemons_origin(self):
        # A mail's HTML part opened directly (or its source) must not run its scripts where they could call the
        # API: every response carries a sandboxing policy and no type sniffing; only the page has its own.
        d = self.begin()
        ids = self.send_corpus(d)
        html = [(name, p['id']) for name in NAMES for p in EXPECTED[name].get('parts') or []
                if p['content_type'] == 'text/html']
        self.assertTrue(html, 'the corpus has an HTML part')
        name, pid = html[0]
        policy = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
        for path in (f'/api/v1/messages/{ids[name]}/parts/{pid}', f'/api/v1/messages/{ids[name]}/raw',
                     f'/api/v1/messages/{ids[name]}'):
            with self.subTest(path):
                r = self.request(d, 'GET', path)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.headers.get('content-security-policy'), policy)
                self.assertEqual(r.headers.get('x-content-type-options'), 'nosniff')
        page = self.request(d, 'GET', '/')
        self.assertNotIn('sandbox', page.headers.get('content-security-policy', ''))

    def test_no_such_part_or_message(self):
        d = self.begin()
        ids = self.send_corpus(d)
        mid = ids['nodemailer_related']
        for pid in ('3', '1', '1.2', '0', '1.2.3', 'x', '%20'):  # 1 and 1.2 are multiparts: no content of their own
            self.assertError(self.request(d, 'GET', f'/api/v1/messages/{mid}/parts/{pid}'), 404, pid)
        self.assertError(self.request(d, 'GET', '/api/v1/messages/999/parts/1'), 404, 'no such message')
        self.assertError(self.request(d, 'DELETE', f'/api/v1/messages/{mid}/parts/1.1'), 405, 'DELETE a part')


class TestSearch(InspectCase):
    def test_filters_combine(self):
        d = self.begin()
        ids = self.send_corpus(d)
        cases = [
            ('subject=GR%C3%9CSSE', ['python_alternative']),  # Unicode case folding: ß is ss
            ('subject=INVOICE', ['python_attachment']),
            ('q=' + urllib.parse.quote('十時'), ['python_shift_jis']),  # the text part, decoded from Shift_JIS
            ('q=zusammenfassung', ['nodemailer_plain']),  # a quoted-printable text part
            ('q=support%40example.org', ['python_alternative']),  # a Reply-To address
            ('q=ops%2C%20team', ['nodemailer_related']),  # a display name
            ('q=s%C3%A9rvice', []),
            ('q=service%20facturation', ['python_latin1']),
            ('rcpt=zoe%40example.net', ['python_attachment', 'python_alternative']),  # the To field
            ('rcpt=AUDIT%40rcpt', ['python_latin1']),  # a second envelope recipient
            ('rcpt=ops%40', ['nodemailer_related']),  # Cc
            ('rcpt=inbox%2Bnodemailer', ['nodemailer_plain', 'nodemailer_related']),
            ('from=juergen', ['python_attachment', 'python_alternative']),  # the From field
            ('from=NODE-APP%40sender', ['nodemailer_plain', 'nodemailer_related']),  # the envelope sender
            ('from=juergen&subject=invoice', ['python_attachment']),
            ('from=juergen&rcpt=team%40example.com&q=gr%C3%B6%C3%9Fe', ['python_alternative']),
            ('flow=nodemailer&q=ready', ['nodemailer_related']),
            ('flow=python&q=ready', []),
            ('flow=malformed&subject=caf%C3%A9', ['malformed']),
            ('rcpt=nobody', []),
            ('subject=&q=&from=&rcpt=', list(reversed(NAMES))),
        ]
        for query, want in cases:
            with self.subTest(query):
                self.assertEqual(self.names(d, ids, query), want)

    def test_limit_and_before_page_through_the_ring(self):
        d = self.begin()
        ids = self.send_corpus(d)
        newest_first = sorted(ids.values(), reverse=True)
        self.assertEqual(self.ids(d, 'limit=3'), newest_first[:3])
        self.assertEqual(self.ids(d, f'limit=3&before={newest_first[2]}'), newest_first[3:6])
        self.assertEqual(self.ids(d, f'limit=3&before={newest_first[5]}'), newest_first[6:])
        self.assertEqual(self.ids(d, f'before={newest_first[-1]}'), [])
        self.assertEqual(self.ids(d, 'before=0'), [])
        self.assertEqual(self.ids(d, 'before=18446744073709551615&limit=1000'), newest_first)
        self.assertEqual(self.ids(d, f'rcpt=rcpt.test&limit=2&before={ids["python_no_mime"]}'),
                         [ids['python_shift_jis'], ids['python_latin1']])
        self.assertEqual(self.names(d, ids, 'from=sender.test&limit=1&flow=python'), ['python_no_mime'])
        for bad in ('limit=0', 'limit=1001', 'limit=x', 'limit=', 'before=x', 'before=-1', 'before=',
                    'before=18446744073709551616'):
            self.assertError(self.request(d, 'GET', f'/api/v1/messages?{bad}'), 400, bad)
        self.assertEqual(self.get_json(d, '/api/v1/messages', method='DELETE'), {'deleted': len(NAMES)})
        self.assertEqual(self.ids(d, 'q=order'), [])


class TestDamaged(InspectCase):
    def test_truncated_capture_shows_what_it_holds(self):
        d = self.begin('--capture-max-message', '1700')
        raw = corpus('nodemailer_related')
        self.send(d, raw, 'node-app@sender.test', ['inbox+nodemailer@rcpt.test'])
        (listed,) = self.captured(d, 1)
        m = self.message(d, listed['id'])
        want = dict(EXPECTED['nodemailer_related'])  # cut inside the header of the attachment (part 2)
        want['parts'] = want['parts'][:6] + [part('2', 'text/plain', 'utf-8', None, 0, attachment=True,
                                                  filename='"Счёт-фактура для =?UTF-8?B?INC30LDQutCw0LfQsCDQ')]
        self.assertEqual({k: m[k] for k in want}, want)
        self.assertEqual((m['size'], m['truncated']), (len(raw), True))
        self.assertEqual(self.raw(d, m['id']), raw[:1700])
        self.assertEqual(self.download(d, m['id'], '2').body, b'')
        self.assertEqual(self.download(d, m['id'], '1.2.2').headers['content-length'], '70')
        self.assertEqual({k: listed[k] for k in LIST_KEYS}, {k: want[k] for k in LIST_KEYS})

    def test_malformed_messages_never_fail(self):
        d = self.begin()
        rng = random.Random(10)
        junk = bytes(rng.randrange(256) for _ in range(3000)).replace(b'\r', b'').replace(b'\n', b'\r\n')
        nested = b''.join(b'--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n' % (i, i + 1)
                          for i in range(1500))
        messages = [
            b'Subject: =?utf-8?B?' + bytes(range(0x80, 0x100)) + b'?=\r\nFrom: \xff\xfe <\x80@\x81>\r\n\r\nx\r\n',
            b'Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n' + junk + b'\r\n',
            b'Content-Type: multipart/mixed; boundary=b0\r\n\r\n' + nested + b'--b1500\r\n\r\ndeep\r\n',
            b'Content-Type: text/plain; charset=utf-16\r\nContent-Transfer-Encoding: base64\r\n\r\n////\r\n',
            b'Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n',
            b'Subject: no body\r\n\r\n',
        ]
        for raw in messages:
            self.send(d, raw, 'fuzz@sender.test', ['inbox@rcpt.test'])
        ms = self.captured(d, len(messages))
        self.assertEqual(len(ms), len(messages))
        self.assertEqual(len(self.messages(d, 'q=anything')), 0)
        for listed in ms:
            m = self.message(d, listed['id'])
            for p in m['parts']:
                if not p['content_type'].startswith('multipart/'):
                    self.assertEqual(len(self.download(d, m['id'], p['id']).body), p['size'], p)
        self.assertEqual(self.message(d, ms[1]['id'])['parts'],  # the message/rfc822 one, a leaf
                         [part('1', 'message/rfc822', size=len(b'Subject: inner\r\n\r\ninner body\r\n'),
                               attachment=True)])
        self.assertEqual(self.get_json(d, '/healthz'), {'status': 'ok'})
