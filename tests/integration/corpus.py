"""The message inspection corpus (tests/corpus/*.eml, built by Python's email package and nodemailer, and a
hand-made malformed message) and what GET /api/v1/messages/{id} must show for each: the decoded fields and the
MIME tree, exact. Standard library only."""
from __future__ import annotations

import pathlib

CORPUS_DIR = pathlib.Path(__file__).resolve().parent.parent / 'corpus'
NAMES = ('python_alternative', 'python_attachment', 'python_latin1', 'python_shift_jis', 'python_no_mime',
         'nodemailer_related', 'nodemailer_plain', 'malformed')
DATE = '2026-03-03T09:15:30.000Z'  # the Date of every generated message, in UTC


def corpus(name: str) -> bytes:
    return (CORPUS_DIR / f'{name}.eml').read_bytes()


def addr(name: str, address: str) -> dict:
    return {'name': name, 'address': address}


def part(pid, content_type, charset=None, te=None, size=0, filename=None, disposition=None, cid=None,
         attachment=False) -> dict:
    """One entry of "parts", as the API writes it (null for what the part does not have)."""
    return {'id': pid, 'content_type': content_type, 'charset': charset, 'transfer_encoding': te, 'size': size,
            'filename': filename, 'disposition': disposition, 'content_id': cid, 'attachment': attachment}


INVOICE_RU = 'Счёт-фактура для заказа номер сорок два от третьего марта.txt'
OVERVIEW_DE = 'Übersicht der Bestellungen für den Monat März zweitausendsechsundzwanzig.csv'
JUERGEN = addr('Jürgen Müller', 'juergen@example.org')
ZOE_AND_PLAIN = [addr('Zoë Renée', 'zoe@example.net'), addr('', 'plain@example.net')]

# The decoded fields of each corpus message (MSG's envelope fields are the test's).
EXPECTED = {
    'python_alternative': {
        'subject': 'Grüße aus Köln — your order ✓', 'from': JUERGEN, 'to': ZOE_AND_PLAIN,
        'cc': [addr('Team', 'team@example.com')], 'reply_to': [addr('Support Desk', 'support@example.org')],
        'date': DATE, 'message_id': 'alt-1@corpus.example.org',
        'text': 'Hallo Zoë,\n\nyour order has shipped. Größe: 42 €.\n',
        'html': '<p>Hallo Zo&euml;,</p><p>your order has <b>shipped</b>. Größe: 42 €.</p>\n', 'attachments': 0,
        'parts': [part(None, 'multipart/alternative'), part('1', 'text/plain', 'utf-8', 'quoted-printable', 57),
                  part('2', 'text/html', 'utf-8', 'quoted-printable', 78)]},
    'python_attachment': {
        'subject': 'Invoice 2026-03', 'from': JUERGEN, 'to': ZOE_AND_PLAIN, 'cc': [], 'reply_to': [], 'date': DATE,
        'message_id': 'att-1@corpus.example.org', 'text': 'Please find the invoice attached.\n', 'html': '',
        'attachments': 2,
        'parts': [part(None, 'multipart/mixed'), part('1', 'text/plain', 'utf-8', '7bit', 35),
                  part('2', 'application/pdf', None, 'base64', 54, 'Rechnung März 2026.pdf', 'attachment',
                       attachment=True),
                  part('3', 'text/csv', None, 'base64', 32, OVERVIEW_DE, 'attachment', attachment=True)]},
    'python_latin1': {
        'subject': 'Votre facture électronique', 'from': addr('Service Facturation', 'facture@example.fr'),
        'to': [addr('', 'client@example.fr')], 'cc': [], 'reply_to': [], 'date': DATE,
        'message_id': 'latin1-1@corpus.example.org', 'text': 'Voilà votre reçu: 12,50 francs, déjà payé.\n',
        'html': '', 'attachments': 0, 'parts': [part('1', 'text/plain', 'iso-8859-1', 'quoted-printable', 44)]},
    'python_shift_jis': {
        'subject': '会議のお知らせ', 'from': addr('山田太郎', 'taro@example.jp'), 'to': [addr('', 'hanako@example.jp')],
        'cc': [], 'reply_to': [], 'date': DATE, 'message_id': 'sjis-1@corpus.example.org',
        'text': '明日の会議は十時からです。\nよろしくお願いします。\n', 'html': '', 'attachments': 0,
        'parts': [part('1', 'text/plain', 'shift_jis', 'base64', 50)]},
    'python_no_mime': {
        'subject': 'Cron <root@host> run-parts /etc/cron.daily', 'from': addr('Cron Daemon', 'cron@example.org'),
        'to': [addr('', 'root@example.org')], 'cc': [], 'reply_to': [], 'date': DATE, 'message_id': None,
        'text': '/etc/cron.daily/logrotate:\nerror: skipping "/var/log/app.log"\n', 'html': '', 'attachments': 0,
        'parts': [part('1', 'text/plain', size=64)]},
    'nodemailer_related': {
        'subject': 'Ваш заказ №42 готов — votre commande est prête', 'from': addr('Ünïcode Shop', 'shop@example.com'),
        'to': [addr('Ana Lima', 'ana@example.com.br'), addr('', 'bo@example.se')],
        'cc': [addr('Ops, Team', 'ops@example.com')], 'reply_to': [addr('', 'no-reply@example.com')], 'date': DATE,
        'message_id': 'nm-related@corpus.example.com', 'text': 'Your order 42 is ready.\nThe logo is attached inline.\n',
        'html': '<p>Your order <b>42</b> is ready.</p><img src="cid:logo@corpus.example.com" alt="logo">\n',
        'attachments': 1,
        'parts': [part(None, 'multipart/mixed'), part('1', 'multipart/alternative'),
                  part('1.1', 'text/plain', 'utf-8', '7bit', 55), part('1.2', 'multipart/related'),
                  part('1.2.1', 'text/html', 'utf-8', 'quoted-printable', 89),
                  part('1.2.2', 'image/png', None, 'base64', 70, 'logo.png', 'inline', 'logo@corpus.example.com'),
                  part('2', 'text/plain', 'utf-8', 'base64', 19, INVOICE_RU, 'attachment', attachment=True)]},
    'nodemailer_plain': {
        'subject': 'Disk usage 93% on db-1', 'from': addr('', 'alerts@example.com'),
        'to': [addr('', 'oncall@example.com')], 'cc': [], 'reply_to': [], 'date': DATE,
        'message_id': 'nm-plain@corpus.example.com',
        'text': 'Disk /var/lib/postgresql is 93% full on db-1; the growth over the last day was 4.2 GiB. '
                'Zusammenfassung: größter Verbraucher ist die Tabelle »events« (37 GiB), gefolgt von »sessions«.\n',
        'html': '', 'attachments': 0, 'parts': [part('1', 'text/plain', 'utf-8', 'quoted-printable', 191)]},
    # What GMime recovers: a broken base64 word as what it decodes to, an unknown charset guessed as ISO-8859-1,
    # no sender (its address never closes), no date, and an inner multipart that never closes.
    'malformed': {
        'subject': '??[jǺ and caféok', 'from': None,
        'to': [addr('Unclosed', 'to@example.org'), addr('', 'ok@example.org')], 'cc': [], 'reply_to': [],
        'date': None, 'message_id': 'malformed-1@corpus.example.org', 'text': 'café crème',
        'html': '<p>bad =ZZ escape and softbreak</p>\n--wrong-boundary\nnever closed\n', 'attachments': 1,
        'parts': [part(None, 'multipart/mixed'), part('1', 'text/plain', 'x-no-such-charset', '8bit', 10),
                  part('2', 'application/octet-stream', None, 'base64', 11, 'data.bin', attachment=True),
                  part('3', 'multipart/alternative'), part('3.1', 'text/html', 'utf-8', 'quoted-printable', 69)]},
}
