"""The systemd unit and its example environment file: the unit passes `systemd-analyze verify` without a
single warning (and a misspelt key is caught, so the check can fail), and the flags in the example file are
ones the daemon accepts."""
import os
import re
import shlex
import subprocess
import tempfile
import unittest

import daemon
from daemon import listen_ports
from daemon_test import DaemonTest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
UNIT = os.path.join(ROOT, 'systemd', 'smtp-blackhole.service')
DEFAULTS = os.path.join(ROOT, 'systemd', 'smtp-blackhole.default')


def verify(unit_text: str) -> tuple[int, str]:
    """systemd-analyze verify on a copy of the unit; returns its exit code and everything it printed."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'smtp-blackhole.service')
        with open(path, 'w') as f:
            f.write(unit_text)
        r = subprocess.run(['systemd-analyze', 'verify', path], capture_output=True, text=True, timeout=60)
        return r.returncode, (r.stdout + r.stderr).strip()


class TestSystemdUnit(DaemonTest):
    def unit_for(self, binary: str) -> str:
        text = open(UNIT).read()
        self.assertIn('ExecStart=/usr/local/bin/smtp-blackhole $SMTP_BLACKHOLE_OPTS', text)
        return text.replace('/usr/local/bin/smtp-blackhole', binary)

    def test_unit_verifies_without_warnings(self):
        rc, out = verify(self.unit_for(os.path.abspath(daemon.BINARY)))
        self.assertEqual((rc, out), (0, ''))

    def test_a_misspelt_key_is_caught(self):
        rc, out = verify(self.unit_for(os.path.abspath(daemon.BINARY)).replace('NoNewPrivileges=', 'NoNewPrivilege='))
        self.assertIn("Unknown key 'NoNewPrivilege'", out)

    def test_example_flags_are_accepted(self):
        line = [l for l in open(DEFAULTS) if l.startswith('SMTP_BLACKHOLE_OPTS=')]
        self.assertEqual(len(line), 1)
        # systemd unquotes the value, and `$SMTP_BLACKHOLE_OPTS` (unbraced) in ExecStart splits it at spaces.
        (value,) = shlex.split(line[0].split('=', 1)[1])
        opts = value.split()
        self.assertIn('--smtps-listen', opts)
        # Same flags, but every listener on a free loopback port (the test daemon brings its own SMTP and HTTP
        # listeners, so the file's are left out).
        local, i = [], 0
        while i < len(opts):
            if opts[i] in ('--smtp-listen', '--http-listen'):
                i += 2
                continue
            local.append(re.sub(r'^[0-9.]+:\d+$', '127.0.0.1:0', opts[i]))
            i += 1
        d = self.start(*local)
        self.assertEqual(len(listen_ports(d, 'smtps')), 1, d.lines)
        t = self.stop(d)
        self.assertEqual(t['connections'], 0)


if __name__ == '__main__':
    unittest.main()
