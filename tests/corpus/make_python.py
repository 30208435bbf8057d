#!/usr/bin/env python3
"""Writes the Python-built part of the inspection corpus (python_*.eml) with the standard library's email
package, as real applications build their mail: CRLF line ends (policy SMTP), fixed dates, Message-IDs and
boundaries, so that a second run gives the same bytes. Run from anywhere: python3 tests/corpus/make_python.py"""
from __future__ import annotations

import email.charset
import email.header
import email.message
import email.mime.text
import email.policy
import pathlib
from email.headerregistry import Address

HERE = pathlib.Path(__file__).resolve().parent
DATE = 'Tue, 03 Mar 2026 10:15:30 +0100'


def base(subject: str, mid: str) -> email.message.EmailMessage:
    m = email.message.EmailMessage(policy=email.policy.SMTP)
    m['From'] = Address('Jürgen Müller', addr_spec='juergen@example.org')
    m['To'] = [Address('Zoë Renée', addr_spec='zoe@example.net'), Address(addr_spec='plain@example.net')]
    m['Subject'] = subject
    m['Date'] = DATE
    m['Message-ID'] = f'<{mid}@corpus.example.org>'
    return m


def alternative() -> email.message.EmailMessage:
    """multipart/alternative: quoted-printable UTF-8 text and HTML; an RFC 2047 subject; Cc and Reply-To."""
    m = base('Grüße aus Köln — your order ✓', 'alt-1')
    m['Cc'] = 'Team <team@example.com>'
    m['Reply-To'] = Address('Support Desk', addr_spec='support@example.org')
    m.set_content('Hallo Zoë,\n\nyour order has shipped. Größe: 42 €.\n', cte='quoted-printable')
    m.add_alternative('<p>Hallo Zo&euml;,</p><p>your order has <b>shipped</b>. Größe: 42 €.</p>\n',
                      subtype='html', cte='quoted-printable')
    m.set_boundary('corpus-alternative')
    return m


def attachment() -> email.message.EmailMessage:
    """multipart/mixed: a text body and two attachments whose non-ASCII names need RFC 2231 (one long enough
    to be continued over several parameters)."""
    m = base('Invoice 2026-03', 'att-1')
    m.set_content('Please find the invoice attached.\n')
    m.add_attachment(b'%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n',
                     maintype='application', subtype='pdf', filename='Rechnung März 2026.pdf')
    m.add_attachment('Straße;Größe\nKönigsallee;42\n'.encode('utf-8'), maintype='text', subtype='csv',
                     filename='Übersicht der Bestellungen für den Monat März zweitausendsechsundzwanzig.csv')
    m.set_boundary('corpus-attachment')
    return m


def legacy(text: str, charset: email.charset.Charset, subject: str, sender: str, rcpt: str,
           mid: str) -> bytes:
    """A single text part in a legacy charset, built as older mailers do (compat32, email.mime): the body and
    the subject (an RFC 2047 encoded word) in that charset, never in UTF-8."""
    m = email.mime.text.MIMEText(text, 'plain', charset)
    m['From'] = sender
    m['To'] = rcpt
    m['Subject'] = email.header.Header(subject, charset)
    m['Date'] = DATE
    m['Message-ID'] = f'<{mid}@corpus.example.org>'
    return m.as_bytes(policy=email.policy.compat32.clone(linesep='\r\n'))


def latin1() -> bytes:
    """ISO-8859-1 in quoted-printable (the email package's default for it), subject included."""
    return legacy('Voil\u00e0 votre re\u00e7u: 12,50 francs, d\u00e9j\u00e0 pay\u00e9.\n',
                  email.charset.Charset('iso-8859-1'), 'Votre facture \u00e9lectronique',
                  'Service Facturation <facture@example.fr>', 'client@example.fr', 'latin1-1')


def shift_jis() -> bytes:
    """Shift_JIS in base64, subject and sender name as Shift_JIS encoded words (the email package would turn
    Shift_JIS into ISO-2022-JP on output; this charset is told to stay Shift_JIS)."""
    cs = email.charset.Charset('shift_jis')
    cs.output_charset = cs.output_codec = 'shift_jis'
    cs.header_encoding = cs.body_encoding = email.charset.BASE64
    sender = email.header.Header('\u5c71\u7530\u592a\u90ce', cs).encode() + ' <taro@example.jp>'
    return legacy('\u660e\u65e5\u306e\u4f1a\u8b70\u306f\u5341\u6642\u304b\u3089\u3067\u3059\u3002\n'
                  '\u3088\u308d\u3057\u304f\u304a\u9858\u3044\u3057\u307e\u3059\u3002\n', cs,
                  '\u4f1a\u8b70\u306e\u304a\u77e5\u3089\u305b', sender, 'hanako@example.jp', 'sjis-1')


def no_mime() -> bytes:
    """A message with no MIME at all: no MIME-Version, no Content-Type, plain ASCII lines (RFC 5322 only)."""
    m = email.message.Message(policy=email.policy.compat32)
    m['From'] = 'cron@example.org (Cron Daemon)'
    m['To'] = 'root@example.org'
    m['Subject'] = 'Cron <root@host> run-parts /etc/cron.daily'
    m['Date'] = DATE
    m.set_payload('/etc/cron.daily/logrotate:\nerror: skipping "/var/log/app.log"\n')
    return m.as_bytes(policy=email.policy.compat32.clone(linesep='\r\n'))


def main() -> None:
    for name, msg in (('alternative', alternative()), ('attachment', attachment())):
        (HERE / f'python_{name}.eml').write_bytes(msg.as_bytes())
    for name, raw in (('latin1', latin1()), ('shift_jis', shift_jis()), ('no_mime', no_mime())):
        (HERE / f'python_{name}.eml').write_bytes(raw)


if __name__ == '__main__':
    main()
