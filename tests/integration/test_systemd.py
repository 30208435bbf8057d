"""The systemd units and the example environment file: every unit (the service, the three socket units, the service
with the socket-activation drop-in) passes `systemd-analyze verify` without a single warning, and a misspelt key
is caught, in a unit and in the drop-in, so the check can fail; the units say what the README says (Type=notify,
the watchdog, the sockets' names, no capability with the drop-in); the example file's flags are accepted, and
with the socket units' sockets passed they bind nothing themselves."""
import os
import re
import shlex
import shutil
import subprocess
import tempfile

import daemon
from daemon import listen_ports
from daemon_test import DaemonTest
from parsers import parse_kv
from systemd_support import ActivationTest, after_exec, free_ports

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
UNITS_DIR = os.path.join(ROOT, 'systemd')
DEFAULTS = os.path.join(UNITS_DIR, 'smtp-blackhole.default')
SERVICE = 'smtp-blackhole.service'
SOCKETS = ('smtp-blackhole.socket', 'smtp-blackhole-smtps.socket', 'smtp-blackhole-http.socket')
DROP_IN = os.path.join('smtp-blackhole.service.d', 'socket-activation.conf')


def settings(path: str) -> dict[str, list[str]]:
    """Every `Key=value` of a unit file, the values of a key in order (sections are not told apart)."""
    out: dict[str, list[str]] = {}
    for line in open(path):
        line = line.strip()
        if line and line[0] not in '#;[' and '=' in line:
            key, value = line.split('=', 1)
            out.setdefault(key, []).append(value)
    return out


def example_flags() -> list[str]:
    """SMTP_BLACKHOLE_OPTS of the example file, as the unit's ExecStart gets them."""
    line = [l for l in open(DEFAULTS) if l.startswith('SMTP_BLACKHOLE_OPTS=')]
    assert len(line) == 1, line
    # systemd unquotes the value, and `$SMTP_BLACKHOLE_OPTS` (unbraced) in ExecStart splits it at spaces.
    (value,) = shlex.split(line[0].split('=', 1)[1])
    return value.split()


class TestSystemdUnits(DaemonTest):
    def copy_units(self) -> str:
        """systemd/ copied to a temporary directory, ExecStart pointing at the binary under test."""
        tmp = tempfile.mkdtemp(prefix='sb-units-')
        self.addCleanup(shutil.rmtree, tmp, True)
        units = os.path.join(tmp, 'units')
        shutil.copytree(UNITS_DIR, units)
        path = os.path.join(units, SERVICE)
        text = open(path).read()
        self.assertIn('ExecStart=/usr/local/bin/smtp-blackhole $SMTP_BLACKHOLE_OPTS', text)
        with open(path, 'w') as f:
            f.write(text.replace('/usr/local/bin/smtp-blackhole', os.path.abspath(daemon.BINARY)))
        return units

    def verify(self, units: str, unit: str) -> tuple[int, str]:
        """systemd-analyze verify of one unit of the copy (which also reads the service's drop-in directory);
        its exit code and everything it printed."""
        r = subprocess.run(['systemd-analyze', 'verify', os.path.join(units, unit)], capture_output=True, text=True,
                           timeout=60)
        return r.returncode, (r.stdout + r.stderr).strip()

    def edit(self, path: str, old: str, new: str) -> None:
        text = open(path).read()
        self.assertIn(old, text)
        with open(path, 'w') as f:
            f.write(text.replace(old, new))

    def test_every_unit_verifies_without_warnings(self):
        units = self.copy_units()
        for unit in (SERVICE,) + SOCKETS:
            with self.subTest(unit=unit):
                self.assertEqual(self.verify(units, unit), (0, ''))

    def test_a_misspelt_key_is_caught(self):
        for file, old, new, key in ((SERVICE, 'NoNewPrivileges=', 'NoNewPrivilege=', 'NoNewPrivilege'),
                                    (DROP_IN, 'CapabilityBoundingSet=', 'CapabilityBoundSet=', 'CapabilityBoundSet'),
                                    (SOCKETS[1], 'FileDescriptorName=', 'FileDescriptorNames=',
                                     'FileDescriptorNames')):
            with self.subTest(file=file):
                units = self.copy_units()
                self.edit(os.path.join(units, file), old, new)
                unit = SERVICE if file == DROP_IN else file
                self.assertIn(f"Unknown key '{key}'", self.verify(units, unit)[1])

    def test_the_service_is_type_notify_with_a_watchdog(self):
        s = settings(os.path.join(UNITS_DIR, SERVICE))
        self.assertEqual((s['Type'], s['NotifyAccess'], s['WatchdogSec']), (['notify'], ['main'], ['30']))
        self.assertEqual(s['ExecReload'], ['/bin/kill -HUP $MAINPID'])
        self.assertEqual((s['AmbientCapabilities'], s['CapabilityBoundingSet']),
                         (['CAP_NET_BIND_SERVICE'], ['CAP_NET_BIND_SERVICE']))
        self.assertNotIn('Sockets', s)

    def test_the_socket_units_name_their_sockets(self):
        got = {}
        for unit in SOCKETS:
            s = settings(os.path.join(UNITS_DIR, unit))
            got[unit] = (s['ListenStream'], s['FileDescriptorName'], s.get('Service'), s['Backlog'])
        self.assertEqual(got, {
            'smtp-blackhole.socket': (['25'], ['smtp'], None, ['4096']),
            'smtp-blackhole-smtps.socket': (['465'], ['smtps'], ['smtp-blackhole.service'], ['4096']),
            'smtp-blackhole-http.socket': (['127.0.0.1:8025'], ['http'], ['smtp-blackhole.service'], ['4096']),
        })

    def test_the_drop_in_takes_every_capability_away(self):
        s = settings(os.path.join(UNITS_DIR, DROP_IN))
        # An empty assignment empties the set, whatever the service said.
        self.assertEqual((s['AmbientCapabilities'], s['CapabilityBoundingSet']), ([''], ['']))
        for key in ('Sockets', 'Requires', 'After'):
            self.assertEqual(s[key], [' '.join(SOCKETS)], key)

    def test_example_flags_are_accepted(self):
        opts = example_flags()
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


class TestSocketUnitsWithTheExampleFlags(ActivationTest):
    def test_the_example_flags_bind_nothing_when_the_sockets_are_passed(self):
        """The socket units' names, on free loopback ports, and the example file's flags unchanged: the daemon
        serves the passed sockets and binds none of the file's addresses (port 25 and 465 among them)."""
        ports = free_ports(len(SOCKETS))
        names = [settings(os.path.join(UNITS_DIR, u))['FileDescriptorName'][0] for u in SOCKETS]
        d = self.activated([(f'127.0.0.1:{p}', name) for p, name in zip(ports, names)], *example_flags())
        c = self.connect(ports[0])
        self.assertEqual(c.reply(), '220 mx.example.test ESMTP smtp-blackhole')
        c.close()
        d.await_start(1, 1)
        msgs = [(kv['msg'], kv.get('activated') or kv.get('skipped')) for kv in map(parse_kv, after_exec(d.lines))
                if kv.get('msg', '').startswith(('listening ', 'systemd '))]
        self.assertEqual(msgs, [
            (f'listening smtp 127.0.0.1:{ports[0]}', 'systemd'),
            ('systemd passed the smtp sockets: --smtp-listen not bound', '0.0.0.0:25'),
            (f'listening smtps 127.0.0.1:{ports[1]}', 'systemd'),
            ('systemd passed the smtps sockets: --smtps-listen not bound', '0.0.0.0:465'),
            (f'listening http 127.0.0.1:{ports[2]}', 'systemd'),
            ('systemd passed the http sockets: --http-listen not bound', '127.0.0.1:8025'),
        ])
        self.assertEqual(self.stop(d)['connections'], 1)
