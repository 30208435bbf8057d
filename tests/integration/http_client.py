"""A small HTTP client (http.client, one request per connection, always with a timeout) and a parser of the
Prometheus text format, for the integration tests that read the daemon's API and /metrics."""
from __future__ import annotations

import http.client
import json
import re
import time
import urllib.parse

from sanitizers import scaled

HTTP_TIMEOUT = scaled(10.0)  # seconds for one HTTP exchange (wait requests add their own timeout)


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes, elapsed: float):
        self.status = status
        self.headers = headers  # lower-cased names
        self.body = body
        self.elapsed = elapsed

    @property
    def content_type(self) -> str:
        return self.headers.get('content-type', '')

    def json(self):
        try:
            return json.loads(self.body.decode('utf-8'))
        except (UnicodeDecodeError, ValueError) as e:
            raise AssertionError(f'not JSON ({e}): status {self.status}, body {self.body[:500]!r}')

    def __repr__(self):
        return f'<HTTP {self.status} {self.content_type} {self.body[:300]!r}>'


def http_request(port: int, method: str, path: str, body: bytes | None = None,
                 timeout: float = HTTP_TIMEOUT) -> Response:
    """One request on a fresh connection to 127.0.0.1:port; returns the whole response."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    t0 = time.monotonic()
    try:
        conn.request(method, path, body=body)
        r = conn.getresponse()
        data = r.read()
        headers = {k.lower(): v for k, v in r.getheaders()}
        return Response(r.status, headers, data, time.monotonic() - t0)
    finally:
        conn.close()


def quote(name: str | bytes) -> str:
    """A flow name as one percent-encoded path segment or query value."""
    return urllib.parse.quote(name, safe='')


# ---- Prometheus text format (version 0.0.4) ----

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+-?\d+)?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')


def _unescape_label(v: str) -> str:
    return re.sub(r'\\(.)', lambda m: {'n': '\n', '\\': '\\', '"': '"'}.get(m.group(1), '\\' + m.group(1)), v)


def parse_prometheus(text: str) -> dict[tuple[str, frozenset], float]:
    """Parses `name{label="value",...} value [timestamp]` lines (skipping blank lines and `#` comments) into
    {(name, frozenset(labels.items())): value}. Raises AssertionError on any line that does not parse, on a
    duplicated sample, and on a sample whose family has a # TYPE line elsewhere than before it."""
    out: dict[tuple[str, frozenset], float] = {}
    types: dict[str, str] = {}
    for n, line in enumerate(text.split('\n'), 1):
        if not line.strip():
            continue
        if line.startswith('#'):
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] == 'TYPE':
                if parts[3] not in ('counter', 'gauge', 'histogram', 'summary', 'untyped'):
                    raise AssertionError(f'line {n}: bad TYPE {line!r}')
                if parts[2] in types:
                    raise AssertionError(f'line {n}: second TYPE line for {parts[2]}')
                types[parts[2]] = parts[3]
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise AssertionError(f'line {n}: not a Prometheus sample: {line!r}')
        name, labels_text, value = m.groups()
        labels = {}
        if labels_text:
            pos = 0
            while pos < len(labels_text):
                lm = _LABEL.match(labels_text, pos)
                if not lm or lm.end() == pos:
                    raise AssertionError(f'line {n}: bad labels {labels_text!r}')
                if lm.group(1) in labels:
                    raise AssertionError(f'line {n}: label {lm.group(1)} twice')
                labels[lm.group(1)] = _unescape_label(lm.group(2))
                pos = lm.end()
        try:
            v = float(value)
        except ValueError:
            raise AssertionError(f'line {n}: bad value {value!r}')
        key = (name, frozenset(labels.items()))
        if key in out:
            raise AssertionError(f'line {n}: duplicated sample {line!r}')
        family = re.sub(r'_(bucket|sum|count)$', '', name)
        if name not in types and family not in types:
            raise AssertionError(f'line {n}: sample {name} without a # TYPE line before it')
        out[key] = v
    return out


def metric(samples, name: str, **labels) -> float | None:
    """The value of one sample (None if absent)."""
    return samples.get((name, frozenset(labels.items())))


def metric_labels(samples, name: str, label: str) -> dict[str, float]:
    """{label value: sample value} over every sample of `name` that has `label`."""
    out = {}
    for (n, ls), v in samples.items():
        if n == name:
            d = dict(ls)
            if label in d:
                out[d[label]] = v
    return out
