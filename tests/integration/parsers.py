"""Parsers of what the integration tests observe: the daemon's key=value log lines and final totals, and a
client's SMTP byte stream (the commands it sent, the sizes of its messages, RFC 5321 4.5.2 dot-stuffing)."""
from __future__ import annotations

import re

_KV = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_kv(line: str) -> dict[str, str]:
    """Parses one key=value log line; quoted values lose their quotes (escapes are kept as written)."""
    out = {}
    for k, v in _KV.findall(line):
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            v = v[1:-1]
        out[k] = v
    return out


def parse_totals(line: str) -> dict[str, int]:
    """The final `msg=totals` line as a dict of ints (everything but ts, level and msg)."""
    kv = parse_kv(line)
    if kv.get('msg') != 'totals':
        raise AssertionError(f'not a totals line: {line!r}')
    return {k: int(v) for k, v in kv.items() if k not in ('ts', 'level', 'msg')}


def stuff(msg: bytes) -> bytes:
    """RFC 5321 4.5.2 dot-stuffing of a CRLF message: a '.' is added before every line that starts with one."""
    return b'\r\n'.join(b'.' + l if l.startswith(b'.') else l for l in msg.split(b'\r\n'))


def unstuff(body: bytes) -> bytes:
    """RFC 5321 4.5.2 dot-unstuffing of a DATA body given up to (and including) the CRLF before `.CRLF`:
    on every CRLF-delimited line, a leading '.' is removed."""
    return b'\r\n'.join(l[1:] if l.startswith(b'.') else l for l in body.split(b'\r\n'))


def commands(stream: bytes):
    """From one client->server SMTP stream (DATA only, no BDAT): each command line, with the dot-stuffed body
    that followed it when it was DATA (else None); a DATA without its end of data ends the stream."""
    pos = 0
    while True:
        eol = stream.find(b'\r\n', pos)
        if eol < 0:
            return
        line = stream[pos:eol]
        pos = eol + 2
        if line.upper() != b'DATA':
            yield line, None
            continue
        end = stream.find(b'\r\n.\r\n', pos - 2)
        if end < 0:
            yield line, None
            return
        yield line, stream[pos:end + 2] if end + 2 > pos else b''
        pos = end + 5


def message_sizes(stream: bytes) -> list[int]:
    """The unstuffed size of each message body in one client->server stream."""
    return [len(unstuff(body)) for _, body in commands(stream) if body is not None]


def command_counts(stream: bytes) -> dict[str, int]:
    """How many times each command verb was sent in one client->server stream."""
    counts: dict[str, int] = {}
    for line, _ in commands(stream):
        verb = line.split(b' ', 1)[0].upper().decode('ascii', 'replace')
        counts[verb] = counts.get(verb, 0) + 1
    return counts
