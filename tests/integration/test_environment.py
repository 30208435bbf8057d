"""Flags from the environment: every flag as SMTP_BLACKHOLE_<FLAG> (upper case, '-' as '_'), a repeatable flag's
list split at ',', a switch's true or false, the command line winning over a variable, a bad value or an unknown
variable naming the variable on one line with exit code 2, and SMTP_BLACKHOLE_OPTS (the unit's flags line)
left alone."""
from daemon import listen_endpoints, run_binary
from daemon_test import DaemonTest
from parsers import parse_kv
from replies import MAIL_OK, TLS_REQUIRED, greeting


class TestEnvironment(DaemonTest):
    def keywords(self, d, port: int) -> set[str]:
        c = self.connect(port)
        c.reply()
        ehlo = c.cmd('EHLO client.test').split('\n')
        self.quit(c)
        return {line[4:].split(' ')[0] for line in ehlo[1:]}

    def test_flags_from_the_environment(self):
        d = self.start(listen=(), expect_listeners=2, env={
            'SMTP_BLACKHOLE_SMTP_LISTEN': '127.0.0.1:0,127.0.0.1:0',
            'SMTP_BLACKHOLE_HOSTNAME': 'env.test',
            'SMTP_BLACKHOLE_DISABLE_EXTENSION': 'PIPELINING,CHUNKING',
        })
        ports = [p for _, p in listen_endpoints(d.lines, 'smtp')]
        self.assertEqual(len(set(ports)), 2, d.lines)
        for port in ports:
            c = self.connect(port)
            self.assertEqual(c.reply(), greeting('env.test'))
            self.quit(c)
        kw = self.keywords(d, ports[0])
        self.assertNotIn('PIPELINING', kw)
        self.assertNotIn('CHUNKING', kw)
        self.assertIn('8BITMIME', kw)

    def test_the_command_line_wins(self):
        d = self.start('--hostname', 'cli.test', '--disable-extension', 'PIPELINING', env={
            'SMTP_BLACKHOLE_HOSTNAME': 'env.test', 'SMTP_BLACKHOLE_DISABLE_EXTENSION': 'CHUNKING'})
        c = self.connect(d)
        self.assertEqual(c.reply(), greeting('cli.test'))
        self.quit(c)
        kw = self.keywords(d, d.port)
        self.assertNotIn('PIPELINING', kw)
        self.assertIn('CHUNKING', kw, 'the list on the command line replaces the variable\'s, whole')

    def test_switches(self):
        for value, reply in (('true', TLS_REQUIRED), ('1', TLS_REQUIRED), ('false', MAIL_OK), ('0', MAIL_OK)):
            with self.subTest(value=value):
                d = self.start('--hostname', 'mx.test', env={'SMTP_BLACKHOLE_REQUIRE_TLS': value})
                c = self.session(d)
                self.assertEqual(c.cmd('MAIL FROM:<a@test>'), reply)
                self.quit(c)
                d.stop()

    def test_fault_rules_are_split_at_semicolons(self):
        d = self.start('--hostname', 'mx.test', env={
            'SMTP_BLACKHOLE_FAULT': 'stage=mail,code=550,first=1;stage=mail,code=451,first=1'})
        rules = [parse_kv(l) for l in d.lines if parse_kv(l).get('msg') == 'fault rule']
        self.assertEqual([r['rule'] for r in rules], ['stage=mail,action=reply,code=550,first=1',
                                                      'stage=mail,action=reply,code=451,first=1'])
        c = self.session(d)
        self.assertEqual(c.cmd('MAIL FROM:<a@test>')[:3], '550')
        self.assertEqual(c.cmd('MAIL FROM:<a@test>')[:3], '451')
        self.assertEqual(c.cmd('MAIL FROM:<a@test>'), MAIL_OK)
        self.quit(c)

    def test_the_units_flags_line_is_left_alone(self):
        d = self.start(env={'SMTP_BLACKHOLE_OPTS': '--no-such-flag'})
        self.assertTrue(d.alive())

    def test_bad_values_name_the_variable(self):
        cases = [
            ('CAPTURE_BYTES', 'big', "smtp-blackhole: SMTP_BLACKHOLE_CAPTURE_BYTES=big: --capture-bytes: bad size 'big'"),
            ('THREADS', '0', 'smtp-blackhole: SMTP_BLACKHOLE_THREADS=0: --threads must be between 1 and 1024'),
            ('THREADS', 'abc', 'smtp-blackhole: SMTP_BLACKHOLE_THREADS=abc: '),
            ('REQUIRE_TLS', 'maybe', 'smtp-blackhole: SMTP_BLACKHOLE_REQUIRE_TLS=maybe: a switch takes true or false'),
            ('SMTP_LISTEN', '127.0.0.1:0,nonsense', 'smtp-blackhole: SMTP_BLACKHOLE_SMTP_LISTEN=127.0.0.1:0,nonsense: '),
            ('CAPTURE_BYTE', '1M', 'smtp-blackhole: SMTP_BLACKHOLE_CAPTURE_BYTE names no flag (there is no --capture-byte)'),
        ]
        for name, value, prefix in cases:
            with self.subTest(name=name, value=value):
                self.assertExit2OneLine(['--smtp-listen', '127.0.0.1:0'] if name != 'SMTP_LISTEN' else [],
                                        prefix=prefix, env={'SMTP_BLACKHOLE_' + name: value})

    def test_help_says_so(self):
        p = run_binary(['--help'], http=False)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b'Every flag can also be set in the environment as SMTP_BLACKHOLE_<FLAG>', p.stdout)
        self.assertIn(b'(SMTP_BLACKHOLE_CAPTURE_BYTES=16M is --capture-bytes 16M); a flag on the command line wins.',
                      p.stdout)
