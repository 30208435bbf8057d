"""Running the bundled load generator (build/loadgen/smtp-blackhole-loadgen) from a test: its binary, a bounded
run, its JSON report, and the flags that point it at a daemon."""
import json
import os
import subprocess
import time

import daemon
from daemon_test import DaemonTest
from parsers import parse_kv
from sanitizers import scaled

RUN_TIMEOUT = scaled(60)  # seconds for one loadgen run


def loadgen_binary() -> str:
    return os.path.join(os.path.dirname(daemon.BINARY), 'loadgen', 'smtp-blackhole-loadgen')


class LoadgenTest(DaemonTest):
    """Base: runs the load generator against daemons the test started."""

    def setUp(self):
        if not os.access(loadgen_binary(), os.X_OK):
            self.fail(f'loadgen binary not built: {loadgen_binary()}')

    def loadgen(self, *args, timeout=RUN_TIMEOUT):
        p = subprocess.run([loadgen_binary()] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')

    def run_json(self, *args, expect_rc=0, timeout=RUN_TIMEOUT):
        t0 = time.monotonic()
        rc, out, err = self.loadgen(*args, '--json', timeout=timeout)
        elapsed = time.monotonic() - t0
        self.assertEqual(rc, expect_rc, f'loadgen exit code; stdout {out!r} stderr {err!r}')
        report = json.loads(out)
        return report, err, elapsed

    def target(self, d, port=None):
        return ['--target', f'127.0.0.1:{port or d.port}']

    def verify(self, d):
        return ['--verify', f'http://127.0.0.1:{d.http_port}']

    def smtps_port(self, d) -> int:
        for l in d.lines:
            kv = parse_kv(l)
            if kv.get('msg', '').startswith('listening smtps'):
                return int(kv['addr'].rpartition(':')[2])
        self.fail(f'no "listening smtps" line: {d.lines}')
