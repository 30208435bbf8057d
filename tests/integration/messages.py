"""The messages the integration tests send: CRLF messages of an exact size, with some body lines that start
with '.', so that dot-stuffing is exercised."""
from __future__ import annotations


def make_message(tag: str, body_len: int) -> bytes:
    """A CRLF message of exactly the asked total length when possible (headers + body lines, some starting
    with '.', so that dot-stuffing is exercised); ends with CRLF."""
    head = f'From: <s@test>\r\nTo: <r@test>\r\nSubject: {tag}\r\n\r\n'.encode()
    lines = []
    total = len(head)
    i = 0
    while total < body_len:
        room = body_len - total
        if room < 3:
            line = b'x' * max(0, room - 2)
        else:
            n = min(room - 2, 30 + (i * 7) % 40)
            prefix = b'.' if i % 3 == 0 else b''
            line = (prefix + (b'%d-' % i) + b'y' * n)[:n]
        lines.append(line + b'\r\n')
        total += len(lines[-1])
        i += 1
    return head + b''.join(lines)


def flow_message(flow: str | None, subject: str, size: int = 0, extra: bytes = b'') -> bytes:
    """A CRLF message with an X-Flow header (unless flow is None), a Subject, `extra` header lines, and a body
    padded (with some dot-leading lines) to exactly `size` octets when size is larger than the headers."""
    head = b''
    if flow is not None:
        head += b'X-Flow: ' + flow.encode() + b'\r\n'
    head += b'Subject: ' + subject.encode() + b'\r\n' + extra + b'\r\n'
    body = b'hello\r\n'
    i = 0
    while len(head) + len(body) < size:
        room = size - len(head) - len(body)
        line = (b'.' if i % 4 == 0 else b'') + b'line %d ' % i + b'z' * 40
        if room < len(line) + 2 + 4:  # the last line fills the size exactly
            if room < 2:
                raise ValueError(f'cannot pad to exactly {size} octets')
            line = b'x' * (room - 2)
        body += line + b'\r\n'
        i += 1
    return head + body
