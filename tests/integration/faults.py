"""Helpers for the fault-injection tests: FaultTest, a FlowTest that adds, lists and deletes fault rules over the
API and reads what was injected (per flow and in /metrics), and `reach`, which takes a raw session up to one
stage and sends the command (or the end of data) at which that stage is asked. Standard library only."""
from __future__ import annotations

import base64
import json

from api import FlowTest
from http_client import Response, http_request
from replies import DATA_GO, MAIL_OK, RCPT_OK, greeting
from smtp_client import Client

STAGES = ('connect', 'ehlo', 'mail', 'rcpt', 'data', 'message', 'starttls', 'auth', 'quit')
FAULT_KEYS = ('id', 'rule', 'seen', 'fired', 'note')
AUTH_PLAIN = 'AUTH PLAIN ' + base64.b64encode(b'\0alice\0secret').decode()
BODY = b'Subject: fault\r\n\r\nbody\r\n.\r\n'

# The reply of each stage when no rule acts, and whether RFC 2034 exempts it from enhanced codes.
NORMAL = {
    'connect': greeting(),
    'mail': MAIL_OK,
    'rcpt': RCPT_OK,
    'data': DATA_GO,
    'message': None,  # 250 2.0.0 Ok: queued as S.T
    'starttls': '220 2.0.0 Ready to start TLS',
    'auth': '235 2.7.0 Authentication successful',
    'quit': '221 2.0.0 Bye',
}


def reach(c: Client, stage: str, helo: str) -> bytes:
    """Takes the session `c` (connected, greeting not read) up to `stage`, checking every reply on the way, and
    returns the bytes that reach the stage; the caller sends them. `helo` names the flow with --flow-key helo."""
    if stage == 'connect':
        return b''
    assert c.reply() == greeting(), 'greeting'
    if stage == 'ehlo':
        return f'EHLO {helo}\r\n'.encode()
    assert c.ehlo(helo).startswith('250-'), 'EHLO'
    if stage in ('starttls', 'auth', 'quit'):
        return {'starttls': b'STARTTLS\r\n', 'auth': (AUTH_PLAIN + '\r\n').encode(), 'quit': b'QUIT\r\n'}[stage]
    if stage == 'mail':
        return b'MAIL FROM:<app@example.test>\r\n'
    assert c.cmd('MAIL FROM:<app@example.test>') == MAIL_OK
    if stage == 'rcpt':
        return b'RCPT TO:<user@example.test>\r\n'
    assert c.cmd('RCPT TO:<user@example.test>') == RCPT_OK
    if stage == 'data':
        return b'DATA\r\n'
    assert c.cmd('DATA') == DATA_GO
    return BODY


def injected(stage: str, code: int, enhanced: str, text: str) -> str:
    """The reply line a rule's code and text make at `stage` (no enhanced code at connect and ehlo, RFC 2034)."""
    if stage == 'connect':
        return f'{code} mx.test {text}'
    if stage == 'ehlo':
        return f'{code} {text}'
    return f'{code} {enhanced} {text}'


class FaultTest(FlowTest):
    """Starts daemons named mx.test and drives /api/v1/faults."""

    def post_faults(self, d, rules, status: int = 201):
        """POST /api/v1/faults with `rules` (a dict, a list, or bytes as they are); the answer's JSON."""
        body = rules if isinstance(rules, bytes) else json.dumps(rules).encode()
        r = http_request(d.http_port, 'POST', '/api/v1/faults', body=body)
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.content_type.startswith('application/json'), r)
        return r.json()

    def add_faults(self, d, rules) -> list[int]:
        """Adds rules (a list of dicts) and returns their ids, with the answer's shape checked."""
        body = self.post_faults(d, rules)
        self.assertEqual(sorted(body), ['faults', 'ids'], body)
        self.assertEqual(len(body['ids']), len(rules), body)
        for f in body['faults']:
            self.assertFaultShape(f)
        return body['ids']

    def faults(self, d) -> list[dict]:
        body = self.get_json(d, '/api/v1/faults')
        self.assertEqual(sorted(body), ['faults', 'seed'], body)
        ids = [f['id'] for f in body['faults']]
        self.assertEqual(ids, sorted(ids), 'rules in the order they were added')
        for f in body['faults']:
            self.assertFaultShape(f)
        return body['faults']

    def delete_faults(self, d, fid: int | None = None) -> Response:
        return self.request(d, 'DELETE', '/api/v1/faults' + (f'/{fid}' if fid is not None else ''))

    def assertFaultShape(self, f: dict) -> None:
        self.assertEqual(sorted(f), sorted(FAULT_KEYS), f)
        self.assertIsInstance(f['id'], int, f)
        self.assertIn(f['rule']['stage'], STAGES, f)
        self.assertIn(f['rule']['action'], ('reply', 'delay', 'disconnect', 'silence'), f)
        self.assertLessEqual(f['fired'], f['seen'], f)
        self.assertTrue(f['note'] is None or isinstance(f['note'], str), f)

    def injections(self, d) -> dict[tuple[str, str, str], float]:
        """smtp_blackhole_faults_injected_total as {(stage, action, code): value}."""
        out = {}
        for (name, labels), v in self.metrics(d).items():
            if name == 'smtp_blackhole_faults_injected_total':
                ls = dict(labels)
                self.assertEqual(sorted(ls), ['action', 'code', 'stage'], ls)
                out[(ls['stage'], ls['action'], ls['code'])] = v
        return out
