"""The load generator's --retries against the real daemon, whose fault rules make the failures: a 4xx is sent
again, a connection cut before the final 250 is sent again on a new connection, a 5xx is final, and what is
retried is counted once by the sink (--verify) and exactly in the report. Traffic goes to 127.0.0.1 only;
every run is bounded."""
import json
import socket

from http_client import http_request
from loadgen_support import LoadgenTest
from replies import HOST

MODES = ([], ['--pipelining'], ['--bdat'])


class TestRetries(LoadgenTest):
    def faults_seen(self, d) -> dict[str, int]:
        """Every flow's injected faults summed: {"rcpt:451": n, "message:disconnect": m}."""
        flows = json.loads(http_request(d.http_port, 'GET', '/api/v1/flows').body)['flows']
        total: dict[str, int] = {}
        for f in flows:
            for k, v in f['faults'].items():
                total[k] = total.get(k, 0) + v
        return total

    def test_transient_failures_are_sent_again_until_delivered_once(self):
        d = self.start('--hostname', HOST, '--threads', '2', '--fault-seed', '11',
                       '--fault', 'stage=rcpt,code=451,probability=0.2',
                       '--fault', 'stage=message,action=disconnect,probability=0.05')
        for mode in MODES:
            with self.subTest(mode=mode):
                n = 600
                r, _, _ = self.run_json(*self.target(d), *mode, '--messages', n, '--connections', 3, '--threads', 1,
                                        '--flows', 3, '--retries', 30, '--max-error-rate', 1, *self.verify(d), '--reset')
                self.assertEqual(r['verify'], {'ok': True, 'differences': []}, r)
                self.assertEqual((r['accepted'], r['refused'], r['lost']), (n, 0, 0), r)
                self.assertEqual(r['flows'], {'load-0': 200, 'load-1': 200, 'load-2': 200}, r)
                retried = r['retried']
                self.assertEqual(r['sent'], n + retried['total'], r)
                self.assertEqual(retried['total'], retried['after_loss'] + retried['after_4xx'], r)
                seen = self.faults_seen(d)
                # Every 451 was one attempt sent again; every cut connection one connection error.
                self.assertEqual(retried['after_4xx'], seen['rcpt:451'], (r, seen))
                self.assertEqual(r['errors']['connection'], seen['message:disconnect'], (r, seen))
                if mode == ['--pipelining']:  # the next envelope may be on the wire behind the cut message
                    self.assertGreaterEqual(retried['after_loss'], seen['message:disconnect'], (r, seen))
                else:
                    self.assertEqual(retried['after_loss'], seen['message:disconnect'], (r, seen))
                self.assertTrue(60 < seen['rcpt:451'] < 240, seen)  # about 150: 20% of 750 attempts
                self.assertGreater(seen['message:disconnect'], 5, seen)
        totals = self.stop(d)
        self.assertEqual(totals['transactions'], 3 * 600)

    def test_retries_run_out_and_a_5xx_is_final(self):
        d = self.start('--hostname', HOST, '--threads', '1', '--fault', 'stage=rcpt,code=451,probability=1')
        r, _, _ = self.run_json(*self.target(d), '--messages', 10, '--connections', 2, '--retries', 2,
                                '--max-error-rate', 1)
        self.assertEqual((r['sent'], r['accepted'], r['refused'], r['lost']), (30, 0, 10, 0), r)
        self.assertEqual((r['refused_by_code'], r['retried']), ({'451': 10}, {'total': 20, 'after_loss': 0, 'after_4xx': 20}))
        # The final refusals are errors: without --max-error-rate the run fails.
        rc, out, _ = self.loadgen(*self.target(d), '--messages', 4, '--retries', 1, '--quiet')
        self.assertEqual(rc, 1, out)
        self.assertIn('retried          4 (after a loss 0, after a 4xx 4)\n', out)
        self.assertIn('refused          4 451=4\n', out)
        self.stop(d)
        d = self.start('--hostname', HOST, '--threads', '1', '--fault', 'stage=rcpt,code=550,probability=1')
        r, _, _ = self.run_json(*self.target(d), '--pipelining', '--messages', 10, '--connections', 2, '--retries', 5,
                                '--max-error-rate', 1)
        self.assertEqual((r['sent'], r['refused'], r['refused_by_code'], r['retried']['total']), (10, 10, {'550': 10}, 0), r)
        self.stop(d)

    def test_a_dead_target_is_tried_again_then_given_up(self):
        with socket.socket() as s:  # a port nobody listens on: bound, never listening
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
            r, _, elapsed = self.run_json('--target', f'127.0.0.1:{port}', '--messages', 10, '--connections', 2,
                                          '--threads', 1, '--retries', 3, expect_rc=1)
        # Each connection: the first connect and 3 more, 100 ms apart; no message was started.
        self.assertEqual((r['errors']['connect'], r['sent'], r['lost'], r['connections']), (8, 0, 0, 0), r)
        self.assertGreater(elapsed, 0.3)

    def test_bad_retries_value(self):
        for bad in ('101', '-1', 'x'):
            with self.subTest(bad=bad):
                rc, out, err = self.loadgen('--retries', bad)
                self.assertEqual((rc, out), (2, ''), err)
                self.assertEqual(len(err.splitlines()), 1, err)
                self.assertIn('--retries', err)
