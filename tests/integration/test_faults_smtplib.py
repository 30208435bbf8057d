"""What an application sees of each fault, through Python's smtplib: the exception and its exact code and text for
a refused greeting, EHLO, sender, recipient, DATA and message, STARTTLS and AUTH; a 421; a disconnect (FIN and
RST); a delay within and past the client's timeout; silence. Then the counts a test asserts on: a retried message
is counted once, refusals by code and injected faults per flow, nothing refused is counted as accepted."""
import smtplib
import time

from faults import FaultTest

MSG = b'Subject: fault\r\nX-Flow: app\r\n\r\nhello\r\n'


class TestSmtplibSees(FaultTest):
    def client(self, d, timeout: float = 5) -> smtplib.SMTP:
        s = smtplib.SMTP('127.0.0.1', d.port, local_hostname='client.test', timeout=timeout)
        self.addCleanup(s.close)
        return s

    def assertRaisesWith(self, exc, fn, *args):
        """Runs fn(*args), which must raise `exc`; returns the exception."""
        with self.assertRaises(exc) as cm:
            fn(*args)
        return cm.exception

    def test_refusals_raise_the_exception_of_their_stage(self):
        d = self.begin('--auth', 'any', '--auth-insecure', '--max-recipients', '5',
                       '--fault', 'stage=mail,code=451,mail_from=busy@*',
                       '--fault', 'stage=rcpt,code=550,rcpt=gone@*',
                       '--fault', 'stage=data,code=452,mail_from=full@*',
                       '--fault', 'stage=message,code=554,text="5.7.1 spam, go away",mail_from=spam@*',
                       '--fault', 'stage=starttls,code=454,first=1',
                       '--fault', 'stage=auth,code=535,times=3')
        s = self.client(d)
        e = self.assertRaisesWith(smtplib.SMTPSenderRefused, s.sendmail, 'busy@x.test', ['u@test'], MSG)
        self.assertEqual((e.smtp_code, e.smtp_error, e.sender),
                         (451, b'4.3.0 Local error in processing, try again later', 'busy@x.test'))
        e = self.assertRaisesWith(smtplib.SMTPRecipientsRefused, s.sendmail, 'a@x.test', ['gone@test'], MSG)
        self.assertEqual(e.recipients, {'gone@test': (550, b'5.1.1 Mailbox unavailable')})
        # One recipient of two refused: the message goes to the other, and sendmail says which was refused.
        self.assertEqual(s.sendmail('a@x.test', ['gone@test', 'here@test'], MSG),
                         {'gone@test': (550, b'5.1.1 Mailbox unavailable')})
        e = self.assertRaisesWith(smtplib.SMTPDataError, s.sendmail, 'full@x.test', ['u@test'], MSG)
        self.assertEqual((e.smtp_code, e.smtp_error), (452, b'4.3.1 Insufficient system storage, try again later'))
        s.rset()  # smtplib leaves a refused DATA to the caller
        e = self.assertRaisesWith(smtplib.SMTPDataError, s.sendmail, 'spam@x.test', ['u@test'], MSG)
        self.assertEqual((e.smtp_code, e.smtp_error), (554, b'5.7.1 spam, go away'))
        e = self.assertRaisesWith(smtplib.SMTPResponseException, s.starttls)
        self.assertEqual((e.smtp_code, e.smtp_error), (454, b'4.7.0 TLS not available due to temporary reason'))
        # smtplib tries CRAM-MD5, PLAIN and LOGIN before it gives up: three refusals, and the rule is spent.
        e = self.assertRaisesWith(smtplib.SMTPAuthenticationError, s.login, 'alice', 'secret')
        self.assertEqual((e.smtp_code, e.smtp_error), (535, b'5.7.8 Authentication credentials invalid'))
        self.assertEqual(s.login('alice', 'secret'), (235, b'2.7.0 Authentication successful'))
        s.quit()
        # Before the end of data no header is read: those refusals count under the flow the envelope names.
        app, default = self.flow(d, 'app'), self.flow(d, '_default')
        self.assertEqual((app['messages'], app['recipients']), (1, 1))
        self.assertEqual((app['refused_by_code'], app['faults']), ({'554': 1}, {'message:554': 1}))
        self.assertEqual(default['messages'], 0)
        self.assertEqual(default['refused_by_code'], {'451': 1, '452': 1, '550': 2})
        self.assertEqual(default['faults'],
                         {'mail:451': 1, 'rcpt:550': 2, 'data:452': 1, 'starttls:454': 1, 'auth:535': 3})
        t = self.stop(d)
        self.assertEqual((t['transactions'], t['recipients']), (1, 1))

    def test_greeting_and_ehlo_refused(self):
        d = self.begin('--fault', 'stage=connect,code=554,first=1', '--fault', 'stage=ehlo,code=550,first=2')
        e = self.assertRaisesWith(smtplib.SMTPConnectError, smtplib.SMTP, '127.0.0.1', d.port, 'client.test', 5)
        self.assertEqual((e.smtp_code, e.smtp_error), (554, b'mx.test Transaction failed'))
        s = self.client(d)  # EHLO refused, then the HELO smtplib falls back to
        e = self.assertRaisesWith(smtplib.SMTPHeloError, s.sendmail, 'a@x.test', ['u@test'], MSG)
        self.assertEqual((e.smtp_code, e.smtp_error), (550, b'Mailbox unavailable'))
        # smtplib keeps the refused HELO's answer as if it were done: on this connection MAIL comes too early.
        e = self.assertRaisesWith(smtplib.SMTPSenderRefused, s.sendmail, 'a@x.test', ['u@test'], MSG)
        self.assertEqual((e.smtp_code, e.smtp_error), (503, b'5.5.1 Send EHLO or HELO first'))
        self.assertEqual(self.client(d).sendmail('a@x.test', ['u@test'], MSG), {})

    def test_421_closes_the_connection(self):
        d = self.begin('--fault', 'stage=rcpt,code=421')
        s = self.client(d)
        e = self.assertRaisesWith(smtplib.SMTPRecipientsRefused, s.sendmail, 'a@x.test', ['u@test'], MSG)
        self.assertEqual(e.recipients, {'u@test': (421, b'4.3.2 Service not available, closing transmission channel')})
        self.assertRaisesWith(smtplib.SMTPServerDisconnected, s.noop)

    def test_disconnect_and_reset(self):
        d = self.begin('--fault', 'stage=message,action=disconnect,first=1',
                       '--fault', 'stage=rcpt,action=disconnect,reset=true,first=1')
        s = self.client(d)
        e = self.assertRaisesWith(smtplib.SMTPServerDisconnected, s.sendmail, 'a@x.test', ['u@test'], MSG)
        self.assertIn('reset by peer', str(e))  # the RST at RCPT
        s = self.client(d)
        e = self.assertRaisesWith(smtplib.SMTPServerDisconnected, s.sendmail, 'a@x.test', ['u@test'], MSG)
        self.assertEqual(str(e), 'Connection unexpectedly closed')  # the FIN after the data
        s = self.client(d)
        self.assertEqual(s.sendmail('a@x.test', ['u@test'], MSG), {})  # both rules are spent
        s.quit()
        self.assertEqual(self.flow(d, 'app')['faults'], {'message:disconnect': 1})
        self.assertEqual(self.flow(d, '_default')['faults'], {'rcpt:disconnect': 1})
        self.assertEqual([(f['seen'], f['fired']) for f in self.faults(d)], [(2, 1), (3, 1)])
        t = self.stop(d)
        self.assertEqual(t['transactions'], 1)

    def test_delay_within_and_past_the_client_timeout_and_silence(self):
        d = self.begin('--fault', 'stage=message,action=delay,delay=600ms,mail_from=slow@*',
                       '--fault', 'stage=rcpt,action=silence,rcpt=void@*')
        s = self.client(d, timeout=2)
        t0 = time.monotonic()
        self.assertEqual(s.sendmail('slow@x.test', ['u@test'], MSG), {})
        self.assertGreaterEqual(time.monotonic() - t0, 0.6)
        s.quit()
        s = self.client(d, timeout=0.3)  # the client gives up first
        e = self.assertRaisesWith(smtplib.SMTPServerDisconnected, s.sendmail, 'slow@x.test', ['u@test'], MSG)
        self.assertEqual(str(e), 'Connection unexpectedly closed: timed out')
        s = self.client(d, timeout=0.3)
        e = self.assertRaisesWith(smtplib.SMTPServerDisconnected, s.sendmail, 'a@x.test', ['void@test'], MSG)
        self.assertEqual(str(e), 'Connection unexpectedly closed: timed out')
        self.settle(d)
        # The message whose client gave up was still answered 250 (to nobody) and counted: a client that times
        # out cannot know, which is what this case tests.
        self.assertEqual(self.flow(d, 'app')['messages'], 2)
        self.assertEqual(self.flow(d, 'app')['faults'], {'message:delay': 2})

    def test_retry_after_4xx_is_counted_once(self):
        d = self.begin('--fault', 'stage=rcpt,code=451,first=1,flow=_default')
        s = self.client(d)
        for attempt in range(3):  # what an application's retry loop does
            try:
                s.sendmail('a@x.test', ['u@test'], b'Subject: retry\r\n\r\nonce\r\n')
                break
            except smtplib.SMTPRecipientsRefused as e:
                self.assertEqual(list(e.recipients.values())[0][0], 451)
        self.assertEqual(attempt, 1)
        f = self.flow(d, '_default')
        self.assertEqual((f['messages'], f['refused_by_code'], f['faults']), (1, {'451': 1}, {'rcpt:451': 1}))
        [rule] = self.faults(d)
        self.assertEqual((rule['seen'], rule['fired']), (2, 1))
