"""Raw-socket tests: what real clients cannot do on purpose (whole pipelined transactions in one write, BDAT,
smuggling shapes, overlong lines, oversize bodies, protocol errors), with every reply checked in order and
the daemon's final totals checked exactly."""
import socket

from daemon_test import DaemonTest
from parsers import unstuff
from replies import (BYE, DATA_GO, HOST, MAIL_OK, NOOP_OK, QUEUED_RE, RCPT_OK, RSET_OK, SIZE_EXCEEDED, TOO_LONG,
                     TOO_MANY_RCPTS, UNKNOWN, UNSUPPORTED_PARAM, ehlo_reply, greeting)


class RawTest(DaemonTest):
    def begin(self, *args):
        d = self.start('--hostname', HOST, *args)
        c = self.session(d)
        return d, c

    def assertQueued(self, reply, txn):
        m = QUEUED_RE.match(reply)
        self.assertIsNotNone(m, f'not a queued reply: {reply!r}')
        self.assertEqual(int(m.group(2)), txn, reply)
        return int(m.group(1))

    def transaction(self, c, body: bytes, rcpts=('r@test',), txn=1):
        """MAIL, RCPT..., DATA, body (must end with CRLF; terminator added) in lock-step; checks every reply."""
        self.assertEqual(c.cmd('MAIL FROM:<s@test>'), MAIL_OK)
        for r in rcpts:
            self.assertEqual(c.cmd(f'RCPT TO:<{r}>'), RCPT_OK)
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        c.send(body + b'.\r\n')
        self.assertQueued(c.reply(), txn)


class TestGreetingAndCommands(RawTest):
    def test_greeting_and_ehlo_exact(self):
        d = self.start('--hostname', HOST)
        c = self.connect(d)
        self.assertEqual(c.reply(), greeting())
        self.assertEqual(c.ehlo(), ehlo_reply(HOST))
        self.assertEqual(c.cmd('HELO other.test'), '250 mx.test')
        self.assertEqual(c.cmd('QUIT'), BYE)
        c.expect_closed()
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 2, 221: 1}, connections=1, connections_refused=0, transactions=0,
                          recipients=0, bytes=0, refused=0, smuggling_suspects=0)

    def test_ehlo_size_follows_max_message_size(self):
        for flag, size in (('1000', 1000), ('10K', 10240), ('3M', 3 << 20), ('1G', 1 << 30)):
            with self.subTest(flag=flag):
                d = self.start('--hostname', HOST, '--max-message-size', flag)
                c = self.connect(d)
                self.assertEqual(c.reply(), greeting())
                self.assertEqual(c.ehlo(), ehlo_reply(HOST, size))
                c.close()
                t = self.stop(d)
                self.assertTotals(t, {220: 1, 250: 1}, connections=1, transactions=0)

    def test_command_replies_and_sequence_errors(self):
        d = self.start('--hostname', HOST)
        c = self.connect(d)
        self.assertEqual(c.reply(), greeting())
        steps = [
            ('MAIL FROM:<a@test>', '503 5.5.1 '),  # before EHLO
            ('EHLO', '501 5.5.4 '),  # no domain
            ('EHLO client.test', ehlo_reply(HOST)),
            ('RCPT TO:<b@test>', '503 5.5.1 '),  # before MAIL
            ('DATA', '503 5.5.1 '),  # before MAIL
            ('NOOP', NOOP_OK),
            ('NOOP anything at all', NOOP_OK),
            ('VRFY someone', '252 2.5.0 '),
            ('HELP', '214 2.0.0 '),
            ('FROB', UNKNOWN),
            ('MAIL TO:<a@test>', '501 5.5.4 '),  # bad syntax
            ('MAIL FROM:<a@test> FOO=BAR', UNSUPPORTED_PARAM),
            ('MAIL FROM:<a@test>', MAIL_OK),
            ('MAIL FROM:<a@test>', '503 5.5.1 '),  # nested
            ('DATA', '503 5.5.1 '),  # before RCPT
            ('RCPT TO:<b@test> BAR=1', UNSUPPORTED_PARAM),
            ('RCPT TO:<b@test>', RCPT_OK),
            ('RSET', RSET_OK),
            ('RCPT TO:<b@test>', '503 5.5.1 '),  # the transaction is gone
            ('mail from:<a@test>', MAIL_OK),  # verbs are case-insensitive
            ('rcpt to:<b@test>', RCPT_OK),
            ('QUIT', BYE),
        ]
        for line, want in steps:
            got = c.cmd(line)
            if want.endswith(' ') and not want.startswith('250-'):
                self.assertTrue(got.startswith(want) and len(got) > len(want) and '\n' not in got,
                                f'{line!r}: got {got!r}, want {want!r}...')
            else:
                self.assertEqual(got, want, line)
        c.expect_closed()
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 8, 252: 1, 214: 1, 221: 1, 500: 1, 501: 2, 503: 6, 555: 2},
                          connections=1, transactions=0, recipients=0, bytes=0, refused=11)


class TestPipelining(RawTest):
    def test_two_transactions_in_one_write(self):
        d = self.start('--hostname', HOST)
        c = self.connect(d)
        self.assertEqual(c.reply(), greeting())
        b1 = b'Subject: one\r\n\r\nfirst body\r\n..dot line\r\n'
        b2 = b'Subject: two\r\n\r\nsecond\r\n'
        c.send(b'EHLO client.test\r\nMAIL FROM:<a@test>\r\nRCPT TO:<b@test>\r\nRCPT TO:<c@test>\r\nDATA\r\n' + b1 +
               b'.\r\nMAIL FROM:<a@test>\r\nRCPT TO:<d@test>\r\nDATA\r\n' + b2 + b'.\r\nQUIT\r\n')
        self.assertEqual(c.reply(), ehlo_reply(HOST))
        for want in (MAIL_OK, RCPT_OK, RCPT_OK, DATA_GO):
            self.assertEqual(c.reply(), want)
        s1 = self.assertQueued(c.reply(), 1)
        for want in (MAIL_OK, RCPT_OK, DATA_GO):
            self.assertEqual(c.reply(), want)
        s2 = self.assertQueued(c.reply(), 2)
        self.assertEqual(s1, s2, 'one session id per connection')
        self.assertEqual(c.reply(), BYE)
        c.expect_closed()
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 8, 354: 2, 221: 1}, connections=1, transactions=2, recipients=3,
                          bytes=len(unstuff(b1)) + len(unstuff(b2)), refused=0, smuggling_suspects=0)
        self.assertEqual(len(unstuff(b1)), len(b1) - 1)

    def test_errors_inside_a_pipelined_batch_keep_order(self):
        d, c = self.begin()
        body = b'x\r\n'
        c.send(b'MAIL FROM:<a@test>\r\nRCPT TO:<b@test> NOPE=1\r\nRCPT TO:<b@test>\r\nDATA\r\n' + body +
               b'.\r\nFROB\r\nNOOP\r\nRCPT TO:<z@test>\r\nQUIT\r\n')
        for want in (MAIL_OK, UNSUPPORTED_PARAM, RCPT_OK, DATA_GO):
            self.assertEqual(c.reply(), want)
        self.assertQueued(c.reply(), 1)
        self.assertEqual(c.reply(), UNKNOWN)
        self.assertEqual(c.reply(), NOOP_OK)
        self.assertTrue(c.reply().startswith('503 5.5.1 '))
        self.assertEqual(c.reply(), BYE)
        c.expect_closed()
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 5, 354: 1, 221: 1, 500: 1, 503: 1, 555: 1}, connections=1,
                          transactions=1, recipients=1, bytes=3, refused=3)


class TestBdat(RawTest):
    def test_chunks_then_last(self):
        d, c = self.begin()
        chunk1 = b'Subject: b\r\n\r\n.\r\nx\n.\n'  # terminator-like bytes are plain content in BDAT
        chunk2 = b'tail\r\n'
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), RCPT_OK)
        c.send(b'BDAT %d\r\n' % len(chunk1) + chunk1)
        self.assertEqual(c.reply(), f'250 2.0.0 {len(chunk1)} octets received')
        c.send(b'BDAT %d LAST\r\n' % len(chunk2) + chunk2)
        self.assertQueued(c.reply(), 1)
        self.assertEqual(c.cmd('NOOP'), NOOP_OK)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 6}, connections=1, transactions=1, recipients=1,
                          bytes=len(chunk1) + len(chunk2), smuggling_suspects=0, refused=0)

    def test_bdat_zero_last(self):
        d, c = self.begin()
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), RCPT_OK)
        c.send(b'BDAT 4\r\nabcd')
        self.assertEqual(c.reply(), '250 2.0.0 4 octets received')
        self.assertQueued(c.cmd('BDAT 0 LAST'), 1)
        # An empty message: BDAT 0 LAST as the only chunk.
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), RCPT_OK)
        self.assertEqual(c.cmd('RCPT TO:<c@test>'), RCPT_OK)
        self.assertQueued(c.cmd('BDAT 0 LAST'), 2)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 9}, connections=1, transactions=2, recipients=3, bytes=4)

    def test_whole_bdat_transaction_in_one_write(self):
        d, c = self.begin()
        c.send(b'MAIL FROM:<a@test> BODY=BINARYMIME\r\nRCPT TO:<b@test>\r\nBDAT 3\r\n\x00\xff\rBDAT 6 LAST\r\n'
               b'NOOP\r\nNOOP\r\nQUIT\r\n')
        for want in (MAIL_OK, RCPT_OK, '250 2.0.0 3 octets received'):
            self.assertEqual(c.reply(), want)
        self.assertQueued(c.reply(), 1)
        self.assertEqual(c.reply(), NOOP_OK)  # the one NOOP that was not chunk data
        self.assertEqual(c.reply(), BYE)
        c.expect_closed()
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 6, 221: 1}, transactions=1, recipients=1, bytes=9, refused=0)

    def test_data_after_bdat_is_refused(self):
        d, c = self.begin()
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), RCPT_OK)
        c.send(b'BDAT 5\r\nhello')
        self.assertEqual(c.reply(), '250 2.0.0 5 octets received')
        got = c.cmd('DATA')
        self.assertTrue(got.startswith('503 5.5.1 '), got)
        self.assertEqual(c.cmd('RSET'), RSET_OK)
        self.transaction(c, b'ok\r\n', txn=1)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 8, 354: 1, 503: 1}, transactions=1, recipients=1, bytes=4,
                          refused=1)

    def test_refused_bdat_chunk_is_still_consumed(self):
        d, c = self.begin()
        # Before MAIL: refused, and its 6 octets ("QUIT\r\n") must not be read as a command.
        c.send(b'BDAT 6 LAST\r\nQUIT\r\n')
        got = c.reply()
        self.assertTrue(got.startswith('503 5.5.1 '), got)
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        # After MAIL but before RCPT: refused too.
        c.send(b'BDAT 6\r\nQUIT\r\n')
        got = c.reply()
        self.assertTrue(got.startswith('503 5.5.1 '), got)
        self.assertEqual(c.cmd('NOOP'), NOOP_OK)
        got = c.cmd('BDAT twelve')
        self.assertTrue(got.startswith('501 5.5.4 '), got)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 3, 501: 1, 503: 2}, transactions=0, bytes=0, refused=3)

    def test_bdat_over_max_message_size(self):
        d, c = self.begin('--max-message-size', '100')
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), RCPT_OK)
        c.send(b'BDAT 60\r\n' + b'a' * 60)
        self.assertEqual(c.reply(), '250 2.0.0 60 octets received')
        c.send(b'BDAT 41 LAST\r\n' + b'NOOP\r\n' * 6 + b'x' * 5)
        self.assertEqual(c.reply(), SIZE_EXCEEDED)
        self.assertEqual(c.cmd('NOOP'), NOOP_OK)
        # Exactly at the limit is fine.
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), RCPT_OK)
        c.send(b'BDAT 100 LAST\r\n' + b'b' * 100)
        self.assertQueued(c.reply(), 1)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 8, 552: 1}, transactions=1, recipients=1, bytes=100, refused=1)


# The four bare-LF / bare-CR "." shapes of SMTP smuggling: none may end DATA.
SMUGGLE = {
    'lf_dot_lf': b'\n.\n',
    'cr_dot_crlf': b'\r.\r\n',
    'lf_dot_crlf': b'\n.\r\n',
    'crlf_dot_lf': b'\r\n.\n',
}


class TestSmuggling(RawTest):
    def smuggle(self, seq: bytes, prefix: bytes = b'Subject: s\r\n\r\nhello'):
        d, c = self.begin()
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), RCPT_OK)
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        body = (prefix + seq + b'MAIL FROM:<evil@test>\r\nRCPT TO:<victim@test>\r\nDATA\r\n'
                b'Subject: smuggled\r\n\r\nsmuggled\r\n')
        c.send(body + b'.\r\n')
        self.assertQueued(c.reply(), 1)
        # No reply may follow for the smuggled commands: the next reply is NOOP's.
        self.assertEqual(c.cmd('NOOP'), NOOP_OK)
        self.assertEqual(c.cmd('QUIT'), BYE)
        c.expect_closed()
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 5, 354: 1, 221: 1}, connections=1, transactions=1, recipients=1,
                          bytes=len(unstuff(body)), smuggling_suspects=1, refused=0)

    def test_smuggling_lf_dot_lf(self):
        self.smuggle(SMUGGLE['lf_dot_lf'])

    def test_smuggling_cr_dot_crlf(self):
        self.smuggle(SMUGGLE['cr_dot_crlf'])

    def test_smuggling_lf_dot_crlf(self):
        self.smuggle(SMUGGLE['lf_dot_crlf'])

    def test_smuggling_crlf_dot_lf(self):
        self.smuggle(SMUGGLE['crlf_dot_lf'])

    def test_smuggling_dot_lf_right_after_data_line(self):
        # The DATA line's CRLF then ".\n": CR LF . LF.
        self.smuggle(b'', prefix=b'.\n')

    def test_all_shapes_in_one_message_count_once(self):
        self.smuggle(b''.join(SMUGGLE.values()))

    def test_clean_message_is_not_a_suspect(self):
        d, c = self.begin()
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), RCPT_OK)
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        body = b'Subject: c\r\n\r\n..\r\n..leading dot\r\na\rb\r\nc\nd\r\n...\r\n.x\r\n'
        c.send(body + b'.\r\n')
        self.assertQueued(c.reply(), 1)
        t = self.stop(d)
        self.assertEqual(len(unstuff(body)), len(body) - 4)
        self.assertTotals(t, {220: 1, 250: 4, 354: 1}, transactions=1, bytes=len(unstuff(body)),
                          smuggling_suspects=0)


class TestLimits(RawTest):
    def test_line_too_long_then_valid_commands(self):
        d, c = self.begin()
        self.assertEqual(c.cmd('NOOP ' + 'x' * 600), TOO_LONG)
        self.assertEqual(c.cmd('NOOP ' + 'x' * 505), NOOP_OK)  # 512 octets with CRLF: the limit
        self.assertEqual(c.cmd('NOOP ' + 'x' * 506), TOO_LONG)  # 513
        self.transaction(c, b'Subject: after\r\n\r\nok\r\n')
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 5, 354: 1, 500: 2}, transactions=1, recipients=1, bytes=22,
                          refused=2)

    def test_overlong_line_in_pieces_gets_one_reply(self):
        d, c = self.begin()
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        for _ in range(3):
            c.send(b'RCPT TO:<' + b'y' * 2000)
        c.send(b'>\r\n')
        self.assertEqual(c.reply(), TOO_LONG)
        self.assertEqual(c.cmd('NOOP'), NOOP_OK)  # the next reply: no second 500 for the same line
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), RCPT_OK)  # the transaction survived
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 4, 500: 1}, transactions=0, refused=1)

    def test_mail_size_parameter_limit(self):
        d, c = self.begin('--max-message-size', '1000')
        self.assertEqual(c.cmd('MAIL FROM:<a@test> SIZE=1001'), SIZE_EXCEEDED)
        self.assertEqual(c.cmd('MAIL FROM:<a@test> SIZE=1000'), MAIL_OK)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 2, 552: 1}, transactions=0, refused=1)

    def test_oversize_data_then_valid_transaction(self):
        d, c = self.begin('--max-message-size', '1000')
        exact = b'..' + b'a' * 997 + b'\r\n'  # 1001 octets on the wire, 1000 after unstuffing
        over = b'.' + b'a' * 999 + b'\r\n'  # 1002 on the wire, 1001 after unstuffing
        self.assertEqual((len(unstuff(exact)), len(unstuff(over))), (1000, 1001))
        big = b'Subject: big\r\n\r\n' + (b'z' * 98 + b'\r\n') * 2000  # 200 KB: many reads, refused at the end
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), RCPT_OK)
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        c.send(big + b'.\r\n')
        self.assertEqual(c.reply(), SIZE_EXCEEDED)
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), RCPT_OK)
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        c.send(over + b'.\r\n')
        self.assertEqual(c.reply(), SIZE_EXCEEDED)
        self.transaction(c, exact)
        self.assertEqual(c.cmd('NOOP'), NOOP_OK)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 9, 354: 3, 552: 2}, transactions=1, recipients=1, bytes=1000,
                          refused=2)

    def test_too_many_recipients(self):
        d, c = self.begin('--max-recipients', '2')
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<b1@test>'), RCPT_OK)
        self.assertEqual(c.cmd('RCPT TO:<b2@test>'), RCPT_OK)
        self.assertEqual(c.cmd('RCPT TO:<b3@test>'), TOO_MANY_RCPTS)
        self.assertEqual(c.cmd('RCPT TO:<b4@test>'), TOO_MANY_RCPTS)
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        c.send(b'm\r\n.\r\n')
        self.assertQueued(c.reply(), 1)
        # The limit is per transaction.
        self.transaction(c, b'n\r\n', rcpts=('c1@test', 'c2@test'), txn=2)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 9, 354: 2, 452: 2}, transactions=2, recipients=4, bytes=6,
                          refused=2)

    def test_all_extension_parameters_accepted_when_enabled(self):
        d, c = self.begin()
        self.assertEqual(c.cmd('MAIL FROM:<a@test> SIZE=100 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=abc+2Bd'),
                         MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<b@test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@test'), RCPT_OK)
        self.assertEqual(c.cmd('RCPT TO:<j\u00f6rg@test> NOTIFY=NEVER'), RCPT_OK)
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        body = 'Subject: caf\u00e9\r\n\r\n\u00fcml\u00e4ut\r\n'.encode()
        c.send(body + b'.\r\n')
        self.assertQueued(c.reply(), 1)
        # BODY=BINARYMIME needs BDAT.
        self.assertEqual(c.cmd('MAIL FROM:<a@test> BODY=BINARYMIME'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), RCPT_OK)
        got = c.cmd('DATA')
        self.assertTrue(got.startswith('503 5.5.1 '), got)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 7, 354: 1, 503: 1}, transactions=1, recipients=2, bytes=len(body),
                          refused=1)


class TestDisabledExtensions(RawTest):
    """Each --disable-extension: the keyword is gone from EHLO (nothing else changes) and its use is refused."""

    def begin_without(self, name, *more):
        d = self.start('--hostname', HOST, '--disable-extension', name, *more)
        c = self.connect(d)
        self.assertEqual(c.reply(), greeting())
        disabled = [name] + [more[i + 1] for i in range(len(more) - 1) if more[i] == '--disable-extension']
        want = ehlo_reply(HOST, disabled=disabled)
        self.assertEqual(c.ehlo(), want)
        return d, c

    def test_without_pipelining(self):
        d, c = self.begin_without('pipelining')
        self.assertNotIn('PIPELINING', c.ehlo())
        # Lock-step still works.
        self.transaction(c, b'one\r\n')
        # Two commands in one write: the first is answered, then 503 5.5.0 and the connection is closed.
        c.send(b'MAIL FROM:<a@test>\r\nRCPT TO:<b@test>\r\n')
        self.assertEqual(c.reply(), MAIL_OK)
        self.assertEqual(c.reply(), '503 5.5.0 Improper use of SMTP command pipelining')
        c.expect_closed()
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 6, 354: 1, 503: 1}, transactions=1, recipients=1, bytes=5,
                          refused=1)

    def test_without_chunking(self):
        d, c = self.begin_without('chunking')
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), RCPT_OK)
        c.send(b'BDAT 6 LAST\r\nQUIT\r\n')  # refused, and its 6 octets consumed (not taken for QUIT)
        self.assertEqual(c.reply(), '502 5.5.1 Command not implemented')
        self.assertEqual(c.cmd('NOOP'), NOOP_OK)
        self.assertEqual(c.cmd('RSET'), RSET_OK)
        got = c.cmd('MAIL FROM:<a@test> BODY=BINARYMIME')
        self.assertTrue(got.startswith('501 5.5.4 '), got)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 5, 501: 1, 502: 1}, transactions=0, bytes=0, refused=2)

    def test_without_size(self):
        d, c = self.begin_without('size', '--max-message-size', '1000')
        self.assertEqual(c.cmd('MAIL FROM:<a@test> SIZE=10'), UNSUPPORTED_PARAM)
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), RCPT_OK)
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        c.send(b'q' * 1001 + b'\r\n.\r\n')  # the limit itself still holds
        self.assertEqual(c.reply(), SIZE_EXCEEDED)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 3, 354: 1, 552: 1, 555: 1}, transactions=0, refused=2)

    def test_without_8bitmime(self):
        d, c = self.begin_without('8bitmime')
        self.assertEqual(c.cmd('MAIL FROM:<a@test> BODY=8BITMIME'), UNSUPPORTED_PARAM)
        self.assertEqual(c.cmd('MAIL FROM:<a@test> BODY=7BIT'), UNSUPPORTED_PARAM)
        self.transaction(c, b'seven bit\r\n')
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 4, 354: 1, 555: 2}, transactions=1, bytes=11, refused=2)

    def test_without_smtputf8(self):
        d, c = self.begin_without('smtputf8')
        self.assertEqual(c.cmd('MAIL FROM:<a@test> SMTPUTF8'), UNSUPPORTED_PARAM)
        got = c.cmd('MAIL FROM:<j\u00f6rg@test>')
        self.assertTrue(got.startswith('553 5.6.7 '), got)
        self.transaction(c, b'ascii\r\n')
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 4, 354: 1, 553: 1, 555: 1}, transactions=1, bytes=7, refused=2)

    def test_without_dsn(self):
        d, c = self.begin_without('dsn')
        self.assertEqual(c.cmd('MAIL FROM:<a@test> RET=HDRS'), UNSUPPORTED_PARAM)
        self.assertEqual(c.cmd('MAIL FROM:<a@test> ENVID=x'), UNSUPPORTED_PARAM)
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<b@test> NOTIFY=NEVER'), UNSUPPORTED_PARAM)
        self.assertEqual(c.cmd('RCPT TO:<b@test> ORCPT=rfc822;b@test'), UNSUPPORTED_PARAM)
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), RCPT_OK)
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 3, 555: 4}, transactions=0, refused=4)

    def test_without_enhancedstatuscodes(self):
        d, c = self.begin_without('enhancedstatuscodes')
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), '250 Sender ok')
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), '250 Recipient ok')
        c.send(b'BDAT 5\r\nhello')
        self.assertEqual(c.reply(), '250 5 octets received')
        c.send(b'BDAT 1 LAST\r\n!')
        got = c.reply()
        self.assertRegex(got, r'^250 Ok: queued as \d+\.1$')
        self.assertEqual(c.cmd('FROB'), '500 Command unrecognized')
        self.assertEqual(c.cmd('NOOP ' + 'x' * 600), '500 Line too long')
        self.assertEqual(c.cmd('NOOP'), '250 Ok')
        self.assertEqual(c.cmd('RSET'), '250 Reset ok')
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), '250 Sender ok')
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), '250 Recipient ok')
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        c.send(b'body\r\n.\r\n')
        self.assertRegex(c.reply(), r'^250 Ok: queued as \d+\.2$')
        self.assertEqual(c.cmd('QUIT'), '221 Bye')
        c.expect_closed()
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 10, 354: 1, 221: 1, 500: 2}, transactions=2, recipients=2,
                          bytes=12, refused=2)

    def test_several_disabled_together(self):
        d, c = self.begin_without('chunking', '--disable-extension', 'dsn', '--disable-extension', 'size')
        self.assertEqual(c.cmd('QUIT'), BYE)
        c.expect_closed()
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 1, 221: 1}, transactions=0)


class TestNoSocketLeftBehind(RawTest):
    def test_client_disconnect_mid_data_counts_nothing(self):
        d, c = self.begin()
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.assertEqual(c.cmd('RCPT TO:<b@test>'), RCPT_OK)
        self.assertEqual(c.cmd('DATA'), DATA_GO)
        c.send(b'Subject: cut\r\n\r\npartial')
        c.sock.shutdown(socket.SHUT_WR)
        c.expect_closed()
        t = self.stop(d)
        self.assertTotals(t, {220: 1, 250: 3, 354: 1}, connections=1, transactions=0, recipients=0, bytes=0)
