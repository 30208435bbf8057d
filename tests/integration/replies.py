"""The replies the daemon promises, exactly as the integration tests expect them: the greeting, the EHLO reply
for a set of options, and every other reply text the tests compare against."""
from __future__ import annotations

import re

HOST = 'mx.test'  # the --hostname the tests give their daemons

MAIL_OK = '250 2.1.0 Sender ok'
RCPT_OK = '250 2.1.5 Recipient ok'
DATA_GO = '354 End data with <CR><LF>.<CR><LF>'
RSET_OK = '250 2.0.0 Reset ok'
NOOP_OK = '250 2.0.0 Ok'
BYE = '221 2.0.0 Bye'
UNKNOWN = '500 5.5.1 Command unrecognized'
TOO_LONG = '500 5.5.2 Line too long'
UNSUPPORTED_PARAM = '555 5.5.4 Unsupported parameter'
SIZE_EXCEEDED = '552 5.3.4 Message size exceeds fixed limit'
TOO_MANY_RCPTS = '452 4.5.3 Too many recipients'
NOT_IMPLEMENTED = '502 5.5.1 Command not implemented'
BAD_PIPELINING = '503 5.5.0 Improper use of SMTP command pipelining'
NEED_HELO = '503 5.5.1 Send EHLO or HELO first'
NEED_MAIL = '503 5.5.1 Need MAIL command first'
SHUTTING_DOWN = '421 4.3.2 Service shutting down, closing transmission channel'
TIMEOUT = '421 4.4.2 Timeout exceeded, closing transmission channel'
QUEUED_RE = re.compile(r'^250 2\.0\.0 Ok: queued as (\d+)\.(\d+)$')

STARTTLS_READY = '220 2.0.0 Ready to start TLS'
TLS_ACTIVE = '503 5.5.1 TLS already active'
TLS_REQUIRED = '530 5.7.0 Must issue a STARTTLS command first'
AUTH_OK = '235 2.7.0 Authentication successful'
AUTH_FAILED = '535 5.7.8 Authentication credentials invalid'
AUTH_CANCELLED = '501 5.0.0 Authentication cancelled'
AUTH_BAD_BASE64 = '501 5.5.2 Cannot decode the response'
AUTH_BAD_MECH = '504 5.5.4 Unrecognized authentication type'
AUTH_ALREADY = '503 5.5.1 Already authenticated'
AUTH_IN_TRANSACTION = '503 5.5.1 AUTH is not allowed during a mail transaction'
AUTH_NEEDS_TLS = '538 5.7.11 Encryption required for requested authentication mechanism'

EXTENSIONS = {  # --disable-extension name -> the EHLO keywords it removes
    'pipelining': ['PIPELINING'],
    'size': ['SIZE'],
    '8bitmime': ['8BITMIME', 'BINARYMIME'],
    'smtputf8': ['SMTPUTF8'],
    'enhancedstatuscodes': ['ENHANCEDSTATUSCODES'],
    'chunking': ['CHUNKING', 'BINARYMIME'],
    'dsn': ['DSN'],
    'starttls': ['STARTTLS'],
    'auth': ['AUTH'],
}


def greeting(hostname: str = HOST) -> str:
    return f'220 {hostname} ESMTP smtp-blackhole'


def ehlo_reply(hostname: str, size: int = 64 << 20, disabled=(), tls: bool = False, auth: bool = False) -> str:
    """The exact EHLO reply (lines joined with \\n) for these options: STARTTLS is offered before TLS only,
    AUTH (when configured) over TLS only unless --auth-insecure."""
    gone = {k for name in disabled for k in EXTENSIONS[name]}
    words = ['PIPELINING', f'SIZE {size}', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'CHUNKING',
             'BINARYMIME', 'DSN']
    if not tls:
        words.append('STARTTLS')
    if auth:
        words.append('AUTH PLAIN LOGIN CRAM-MD5')
    lines = [hostname] + [w for w in words if w.split()[0] not in gone]
    return '\n'.join(f'250{"-" if i + 1 < len(lines) else " "}{l}' for i, l in enumerate(lines))
