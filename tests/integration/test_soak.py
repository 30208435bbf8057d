"""The soak of issue 14 in its short mode (bench/soak.py --short): the load generator with --verify in pipelining,
BDAT and STARTTLS runs while the API is read, side flows are reset, SIGHUP reloads the certificate, fault rules
come and go and slow connections are abandoned; nothing lost or counted twice, RSS flat after warm-up, the
descriptors back to their baseline. Under a sanitizer (TEST_TIMEOUT_FACTOR above 1) the run is that many times
smaller. Traffic goes to 127.0.0.1 only; the run is bounded."""
import json
import os
import subprocess
import sys
import unittest

import daemon
from loadgen_support import loadgen_binary
from sanitizers import TIMEOUT_FACTOR, asan_quarantine_size, scaled

SOAK = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'bench', 'soak.py')
MESSAGES = int(200_000 / TIMEOUT_FACTOR)


class TestSoak(unittest.TestCase):
    def test_short_soak_loses_nothing_and_leaks_nothing(self):
        with open(daemon.BINARY, 'rb') as f:
            asan = b'libasan.so' in f.read()
        slack = asan_quarantine_size() >> 20 if asan else 0
        p = subprocess.run([sys.executable, SOAK, '--short', '--json', '--binary', daemon.BINARY,
                            '--loadgen', loadgen_binary(), '--messages', str(MESSAGES), '--rss-slack', str(slack)],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=scaled(90))
        out, err = p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')
        context = f'stdout:\n{out}\nstderr:\n{err[-4000:]}'
        self.assertEqual(p.returncode, 0, context)
        s = json.loads(out.splitlines()[-1])
        self.assertTrue(s['ok'], context)
        self.assertEqual(s['problems'], [], context)
        self.assertEqual(s['messages'], MESSAGES, context)
        self.assertEqual(s['verify_ok'], s['runs'], context)
        self.assertEqual(s['runs'], 6, context)   # 2 rounds of 3 shapes
        self.assertEqual(s['totals_transactions'], MESSAGES + s['side_messages'] + 1, context)
        self.assertGreater(s['shapes']['starttls']['tls_resumed'], 0, context)
        for what in ('side_epochs', 'sighups', 'faults_added', 'slow_connections', 'http_reads', 'verify_reads'):
            self.assertGreater(s[what], 0, f'{what}: {context}')
        self.assertEqual(s['faults_added'], s['faults_removed'], context)
        self.assertEqual(s['fds']['end'], s['fds']['baseline'], context)
        self.assertLessEqual(s['rss_mib']['max'] - s['rss_mib']['min'], s['rss_mib']['bound'], context)


if __name__ == '__main__':
    unittest.main()
