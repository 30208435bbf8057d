"""Python's smtplib as a real client: sendmail and send_message with several recipients, the session commands
(rset, noop, vrfy, help, quit), SIZE and SMTPUTF8 negotiation; exact daemon totals after each."""
import smtplib
from email.message import EmailMessage

from daemon_test import DaemonTest
from messages import make_message
from parsers import message_sizes
from replies import HOST


class RecordingSMTP(smtplib.SMTP):
    """smtplib.SMTP that keeps every byte it sends, to derive the exact message sizes it meant."""

    def __init__(self, *a, **kw):
        self.wire = bytearray()
        super().__init__(*a, **kw)

    def send(self, s):
        self.wire += s.encode(self.command_encoding) if isinstance(s, str) else s
        super().send(s)


class SmtplibTest(DaemonTest):
    def begin(self, *args):
        d = self.start('--hostname', HOST, *args)
        s = RecordingSMTP('127.0.0.1', d.port, local_hostname='client.test', timeout=10)
        self.addCleanup(s.close)
        return d, s


class TestSmtplib(SmtplibTest):
    def test_ehlo_features(self):
        d, s = self.begin('--max-message-size', '10K')
        code, msg = s.ehlo()
        self.assertEqual(code, 250)
        self.assertEqual(msg.decode().split('\n')[0], HOST)
        self.assertEqual(s.esmtp_features, {
            'pipelining': '', 'size': '10240', '8bitmime': '', 'smtputf8': '', 'enhancedstatuscodes': '',
            'chunking': '', 'binarymime': '', 'dsn': '', 'starttls': ''})
        self.assertEqual(s.quit(), (221, b'2.0.0 Bye'))
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 1, 221: 1}, connections=1, transactions=0, refused=0)

    def test_sendmail_one_recipient(self):
        d, s = self.begin()
        msg = b'From: a@test\r\nTo: b@test\r\nSubject: hello\r\n\r\nline one\r\n.starts with a dot\r\n.\r\nend\r\n'
        self.assertEqual(s.sendmail('a@test', ['b@test'], msg), {})
        self.assertEqual(s.quit(), (221, b'2.0.0 Bye'))
        self.assertEqual(message_sizes(bytes(s.wire)), [len(msg)])
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 4, 354: 1, 221: 1}, connections=1, connections_refused=0,
                          transactions=1, recipients=1, bytes=len(msg), refused=0, smuggling_suspects=0)

    def test_sendmail_several_recipients(self):
        d, s = self.begin()
        rcpts = [f'user{i}@test' for i in range(7)]
        msg = make_message('many', 3000)
        self.assertEqual(s.sendmail('a@test', rcpts, msg), {})
        s.quit()
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 10, 354: 1, 221: 1}, transactions=1, recipients=7, bytes=len(msg))

    def test_send_message_to_cc_bcc(self):
        d, s = self.begin()
        m = EmailMessage()
        m['From'] = 'Sender <sender@test>'
        m['To'] = 'One <one@test>, two@test'
        m['Cc'] = 'three@test'
        m['Bcc'] = 'hidden@test'
        m['Subject'] = 'send_message'
        m.set_content('Hello.\n.a dotted line\n\nBye.\n')
        self.assertEqual(s.send_message(m), {})
        self.assertEqual(s.quit(), (221, b'2.0.0 Bye'))
        wire = bytes(s.wire)
        self.assertNotIn(b'hidden@test', wire.split(b'data\r\n', 1)[1])  # Bcc is not in the message
        sizes = message_sizes(wire)
        self.assertEqual(len(sizes), 1)
        self.assertGreater(sizes[0], 100)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 7, 354: 1, 221: 1}, transactions=1, recipients=4, bytes=sizes[0])

    def test_session_commands(self):
        d, s = self.begin()
        s.ehlo()
        self.assertEqual(s.noop(), (250, b'2.0.0 Ok'))
        code, text = s.vrfy('someone@test')
        self.assertEqual(code, 252)
        self.assertTrue(text.startswith(b'2.5.0 '), text)
        self.assertTrue(s.help().startswith(b'2.0.0 '))
        self.assertEqual(s.mail('a@test'), (250, b'2.1.0 Sender ok'))
        self.assertEqual(s.rcpt('b@test'), (250, b'2.1.5 Recipient ok'))
        self.assertEqual(s.rset(), (250, b'2.0.0 Reset ok'))
        self.assertEqual(s.rcpt('b@test')[0], 503)  # RSET ended the transaction
        msg = b'Subject: after rset\r\n\r\nok\r\n'
        self.assertEqual(s.sendmail('a@test', ['c@test', 'd@test'], msg), {})
        self.assertEqual(s.docmd('FROB'), (500, b'5.5.1 Command unrecognized'))
        self.assertEqual(s.quit(), (221, b'2.0.0 Bye'))
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 9, 252: 1, 214: 1, 354: 1, 221: 1, 500: 1, 503: 1},
                          transactions=1, recipients=2, bytes=len(msg), refused=2)

    def test_many_messages_one_connection(self):
        d, s = self.begin()
        total = 0
        rcpt_total = 0
        for i in range(12):
            msg = make_message(f'm{i}', 200 + 311 * i)
            rcpts = [f'r{i}.{j}@test' for j in range(1 + i % 4)]
            self.assertEqual(s.sendmail(f's{i}@test', rcpts, msg), {})
            total += len(msg)
            rcpt_total += len(rcpts)
        s.quit()
        self.assertEqual(sum(message_sizes(bytes(s.wire))), total)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 1 + 12 * 2 + rcpt_total, 354: 12, 221: 1}, connections=1,
                          transactions=12, recipients=rcpt_total, bytes=total)

    def test_recipients_over_the_limit_are_refused(self):
        d, s = self.begin('--max-recipients', '3')
        rcpts = [f'u{i}@test' for i in range(5)]
        msg = b'Subject: limit\r\n\r\nbody\r\n'
        refused = s.sendmail('a@test', rcpts, msg)
        self.assertEqual(refused, {'u3@test': (452, b'4.5.3 Too many recipients'),
                                   'u4@test': (452, b'4.5.3 Too many recipients')})
        s.quit()
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 6, 354: 1, 221: 1, 452: 2}, transactions=1, recipients=3,
                          bytes=len(msg), refused=2)

    def test_size_refused_at_mail_then_exact_limit_accepted(self):
        d, s = self.begin('--max-message-size', '1000')
        big = make_message('big', 1001)
        self.assertEqual(len(big), 1001)
        with self.assertRaises(smtplib.SMTPSenderRefused) as cm:
            s.sendmail('a@test', ['b@test'], big)  # smtplib sends SIZE=1001
        self.assertEqual(cm.exception.smtp_code, 552)
        self.assertEqual(cm.exception.smtp_error, b'5.3.4 Message size exceeds fixed limit')
        ok = make_message('fits', 1000)
        self.assertEqual(len(ok), 1000)
        self.assertEqual(s.sendmail('a@test', ['b@test'], ok), {})
        s.quit()
        self.assertIn(b' size=1001\r\n', bytes(s.wire))
        self.assertIn(b' size=1000\r\n', bytes(s.wire))
        t = self.stop(d)
        # 250: EHLO, RSET (smtplib resets after the refusal), MAIL, RCPT, end of data.
        self.assertTotals(t, {220: 1, 250: 5, 354: 1, 221: 1, 552: 1}, transactions=1, recipients=1,
                          bytes=1000, refused=1)

    def test_send_message_smtputf8(self):
        d, s = self.begin()
        m = EmailMessage()
        m['From'] = 'j\u00f6rg@test'
        m['To'] = 'andr\u00e9@test, plain@test'
        m['Subject'] = 'gr\u00fc\u00dfe'
        m.set_content('Gr\u00fc\u00dfe aus K\u00f6ln.\n')
        self.assertEqual(s.send_message(m), {})
        s.quit()
        wire = bytes(s.wire)
        self.assertIn(b' SMTPUTF8', wire.split(b'\r\n', 2)[1])
        sizes = message_sizes(wire)
        self.assertEqual(len(sizes), 1)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 5, 354: 1, 221: 1}, transactions=1, recipients=2, bytes=sizes[0])

    def test_helo_only_client(self):
        d, s = self.begin()
        self.assertEqual(s.helo(), (250, HOST.encode()))
        msg = b'Subject: helo\r\n\r\nplain old SMTP\r\n'
        self.assertEqual(s.sendmail('a@test', ['b@test', 'c@test'], msg), {})
        self.assertNotIn(b'size=', bytes(s.wire).lower())
        s.quit()
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 5, 354: 1, 221: 1}, transactions=1, recipients=2, bytes=len(msg))
