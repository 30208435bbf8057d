"""A real, private Postfix MTA for the integration tests: its own main.cf and master.cf written here (nothing
read from or written to /etc/postfix), its own queue, data and mail directories and log file in one temporary
directory, no listener (mail goes in through its sendmail), relaying everything to the sink, and short retry
times. Every command and every wait is bounded; stop() leaves no process and no directory behind.
Needs Debian's postfix package and root (set-gid Postfix commands take a private -c directory only from root)."""
from __future__ import annotations

import email
import email.policy
import json
import mailbox
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid

import daemon
from api import FlowTest
from messages import flow_message
from replies import QUEUED_RE

POSTFIX = '/usr/sbin/postfix'
SENDMAIL = '/usr/sbin/sendmail'
POSTQUEUE = '/usr/sbin/postqueue'
COMMAND_TIMEOUT = 30.0  # seconds for one postfix, sendmail or postqueue run
WAIT_TIMEOUT = 20.0  # default seconds for the waits below

HOSTNAME = 'postfix.test'  # the instance's myhostname: its EHLO name and the host of its Received header
LOCAL_DOMAIN = 'local.test'  # mail to this domain (bounces to a sender here) lands in the instance's mailbox
SENDER = f'sender@{LOCAL_DOMAIN}'
MAILBOX_USER = 'nobody'  # owner of the mailbox the virtual(8) agent writes

# master.cf: the services a relay without a listener needs. Nothing is chrooted (the instance reads its own
# directories), postlogd writes the log file, and tlsmgr is there for STARTTLS to the sink.
MASTER_CF = """\
# service   type       private unpriv chroot wakeup maxproc command
pickup      unix       n       -      n      60     1       pickup
cleanup     unix       n       -      n      -      0       cleanup
qmgr        unix       n       -      n      300    1       qmgr
rewrite     unix       -       -      n      -      -       trivial-rewrite
bounce      unix       -       -      n      -      0       bounce
defer       unix       -       -      n      -      0       bounce
trace       unix       -       -      n      -      0       bounce
flush       unix       n       -      n      1000?  0       flush
showq       unix       n       -      n      -      -       showq
smtp        unix       -       -      n      -      -       smtp
relay       unix       -       -      n      -      -       smtp
error       unix       -       -      n      -      -       error
retry       unix       -       -      n      -      -       error
virtual     unix       -       n      n      -      -       virtual
scache      unix       -       -      n      -      1       scache
tlsmgr      unix       -       -      n      1000?  1       tlsmgr
postlog     unix-dgram n       -      n      -      1       postlogd
"""

# One delivery attempt as the smtp or virtual agent logs it:
# `postfix/smtp[7]: 3F2A1C: to=<r@x>, relay=127.0.0.1[127.0.0.1]:2525, ..., dsn=2.0.0, status=sent (250 ...)`
DELIVERY_RE = re.compile(r'postfix/(?P<agent>[\w-]+)\[\d+\]: (?P<qid>[0-9A-F]+): to=<(?P<rcpt>[^>]*)>,'
                         r'(?: orig_to=<[^>]*>,)? relay=(?P<relay>[^,]*), .*?dsn=(?P<dsn>[\d.]+), '
                         r'status=(?P<status>\w+) \((?P<reply>.*)\)$')

_live: set['PrivatePostfix'] = set()  # every instance started and not yet stopped
_live_lock = threading.Lock()


def _stop_leftovers() -> None:
    with _live_lock:
        instances = list(_live)
    for p in instances:
        p.stop()


daemon.at_leftovers(_stop_leftovers)


def require_postfix() -> None:
    """Fails with a clear message when Postfix is not installed or we are not root."""
    missing = [p for p in (POSTFIX, SENDMAIL, POSTQUEUE) if not os.access(p, os.X_OK)]
    if missing:
        raise AssertionError(f'Postfix is not installed ({", ".join(missing)} missing): '
                             'run scripts/install-deps.sh test')
    if os.geteuid() != 0:
        raise AssertionError('a private Postfix instance needs root (its set-gid commands take -c only from root)')


def _run(argv: list[str], what: str, stdin: bytes = b'', check: bool = True) -> subprocess.CompletedProcess:
    try:
        p = subprocess.run(argv, input=stdin, capture_output=True, timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f'{what}: no exit within {COMMAND_TIMEOUT}s: {argv}')
    if check and p.returncode != 0:
        raise AssertionError(f'{what}: exit {p.returncode}: {p.stdout!r} {p.stderr!r}')
    return p


class PrivatePostfix:
    """One private Postfix instance relaying every non-local address to 127.0.0.1:relay_port.
    tls: the client's smtp_tls_security_level (none, may, encrypt); settings: more main.cf lines, which win."""

    def __init__(self, relay_port: int, tls: str = 'none', settings: dict[str, str] | None = None):
        require_postfix()
        self.root = tempfile.mkdtemp(prefix='pf-')
        self.config_dir = os.path.join(self.root, 'etc')
        self.queue_dir = os.path.join(self.root, 'spool')
        self.data_dir = os.path.join(self.root, 'data')
        self.mail_dir = os.path.join(self.root, 'mail')
        self.log_path = os.path.join(self.root, 'maillog')
        self.mailbox_path = os.path.join(self.mail_dir, 'inbox')
        self.master_pid: int | None = None
        self.running = False
        with _live_lock:
            _live.add(self)
        try:
            self.configure(relay_port, tls, settings or {})
            self.start()
        except BaseException:
            self.stop()
            raise

    def configure(self, relay_port: int, tls: str, settings: dict[str, str]) -> None:
        """The directories with their owners, and main.cf and master.cf written from scratch."""
        os.chmod(self.root, 0o755)  # the postfix user walks into its queue and data directories
        for d in (self.config_dir, self.queue_dir, self.data_dir, self.mail_dir):
            os.mkdir(d, 0o755)
        owner = pwd.getpwnam('postfix')
        os.chown(self.data_dir, owner.pw_uid, owner.pw_gid)  # the master's lock file, the TLS session caches
        user = pwd.getpwnam(MAILBOX_USER)
        os.chown(self.mail_dir, user.pw_uid, user.pw_gid)
        main = self.main_cf(relay_port, tls, user)
        main.update(settings)
        with open(os.path.join(self.config_dir, 'main.cf'), 'w') as f:
            f.write(''.join(f'{k} = {v}\n' for k, v in main.items()))
        with open(os.path.join(self.config_dir, 'master.cf'), 'w') as f:
            f.write(MASTER_CF)

    def main_cf(self, relay_port: int, tls: str, user: pwd.struct_passwd) -> dict[str, str]:
        """Every main.cf setting; the rest are Postfix's compiled-in defaults (postconf -d)."""
        return {
            'compatibility_level': '3.6',
            'mail_owner': 'postfix',
            'setgid_group': 'postdrop',
            'queue_directory': self.queue_dir,
            'data_directory': self.data_dir,
            'maillog_file': self.log_path,
            'maillog_file_prefixes': self.root,  # maillog_file must start with one of these
            'myhostname': HOSTNAME,
            'mydomain': 'test',
            'myorigin': '$myhostname',
            'inet_interfaces': '127.0.0.1',  # loopback only (and no smtpd in master.cf at all)
            'inet_protocols': 'ipv4',
            'mydestination': '',  # nothing is delivered locally but the virtual mailbox domain below
            'alias_maps': '',  # nothing of the system's is read (no /etc/aliases)
            'alias_database': '',
            'relay_domains': '',
            'relayhost': f'[127.0.0.1]:{relay_port}',  # [] : no MX lookup
            'smtp_dns_support_level': 'disabled',
            'smtp_host_lookup': 'native',
            'smtp_tls_security_level': tls,
            'smtp_tls_loglevel': '1',  # logs "TLS connection established ... with cipher ..."
            'smtp_connect_timeout': '5s',
            'queue_run_delay': '1s',  # deferred mail is retried about a second later
            'minimal_backoff_time': '1s',
            'maximal_backoff_time': '1s',
            'maximal_queue_lifetime': '1h',
            'bounce_queue_lifetime': '1h',
            'in_flow_delay': '0',
            'virtual_mailbox_domains': LOCAL_DOMAIN,
            'virtual_mailbox_base': self.mail_dir,
            'virtual_mailbox_maps': f'static:{os.path.basename(self.mailbox_path)}',  # one mbox for every address
            'virtual_uid_maps': f'static:{user.pw_uid}',
            'virtual_gid_maps': f'static:{user.pw_gid}',
        }

    # ---- life cycle ----

    def postfix(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return _run([POSTFIX, '-c', self.config_dir, *args], f'postfix {" ".join(args)}', check=check)

    def start(self) -> None:
        self.running = True
        self.postfix('start')
        self.master_pid = self.read_master_pid()

    def read_master_pid(self) -> int:
        with open(os.path.join(self.queue_dir, 'pid', 'master.pid')) as f:
            return int(f.read().split()[0])

    def master_alive(self) -> bool:
        if self.master_pid is None:
            return False
        try:
            with open(f'/proc/{self.master_pid}/cmdline', 'rb') as f:
                return f.read().split(b'\0')[0].endswith(b'/master')
        except FileNotFoundError:
            return False

    def processes(self) -> list[int]:
        """PIDs of this instance's processes: every Postfix daemon works in its queue directory, so these are the
        processes whose working directory lies in this instance's directory (the master's PID aside)."""
        pids = []
        for name in os.listdir('/proc'):
            if name.isdigit():
                try:
                    cwd = os.readlink(f'/proc/{name}/cwd')
                except OSError:
                    continue
                if cwd == self.root or cwd.startswith(self.root + '/'):
                    pids.append(int(name))
        return pids

    def stop(self) -> None:
        """Stops this instance and removes its directory: `postfix -c DIR stop` (which waits up to 5s, then kills
        the master's process group), `abort` if that failed, SIGKILL to the master's PID as a last resort, and a
        bounded wait until none of its processes is left. Safe to call twice; touches no other Postfix."""
        with _live_lock:
            if self not in _live:
                return
            _live.discard(self)
        try:
            if self.running:
                self.running = False
                try:
                    if self.master_pid is None:
                        self.master_pid = self.read_master_pid()  # a start that failed late
                    if self.postfix('stop', check=False).returncode != 0 and self.master_alive():
                        self.postfix('abort', check=False)
                except (OSError, ValueError, AssertionError):
                    pass
                finally:
                    self.wait_gone(10.0)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def wait_gone(self, timeout: float) -> None:
        """Waits (bounded) until the master and every process of this instance have exited; SIGKILLs the
        master (by PID) if it outlives the wait."""
        deadline = time.monotonic() + timeout
        while (self.master_alive() or self.processes()) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.master_alive():
            os.kill(self.master_pid, signal.SIGKILL)

    def status(self) -> bool:
        """Whether `postfix status` says this instance runs."""
        return self.postfix('status', check=False).returncode == 0

    # ---- mail in ----

    def inject(self, message: bytes, rcpts, sender: str = SENDER, timeout: float = WAIT_TIMEOUT) -> str:
        """Submits the message (CRLF or LF lines) with its sendmail and returns its queue id. A Message-ID is
        added when the message has none: the cleanup service logs it beside the queue id."""
        head = message.split(b'\n\n', 1)[0].split(b'\r\n\r\n', 1)[0]
        m = re.search(rb'(?im)^message-id:\s*(<[^>\r\n]*>)', head)
        if m:
            mid = m.group(1).decode()
        else:
            mid = f'<{uuid.uuid4().hex}@{HOSTNAME}>'
            message = f'Message-ID: {mid}\r\n'.encode() + message
        _run([SENDMAIL, '-C', self.config_dir, '-i', '-f', sender, '--', *rcpts], 'sendmail', stdin=message)
        line = self.wait_log(lambda l: f': message-id={mid}' in l and 'postfix/cleanup[' in l, timeout,
                             f'the cleanup line of {mid}')
        return re.search(r': ([0-9A-F]+): message-id=', line).group(1)

    def flush(self) -> None:
        """postqueue -f: every deferred message is tried again now."""
        _run([POSTQUEUE, '-c', self.config_dir, '-f'], 'postqueue -f')

    # ---- the queue ----

    def queue(self) -> list[dict]:
        """postqueue -j: one object per queued message (queue_name, queue_id, recipients with delay_reason)."""
        out = _run([POSTQUEUE, '-c', self.config_dir, '-j'], 'postqueue -j').stdout.decode()
        return [json.loads(l) for l in out.splitlines() if l.strip()]

    def wait_queue(self, pred, timeout: float = WAIT_TIMEOUT, what: str = 'the queue') -> list[dict]:
        """Polls postqueue -j until pred(entries) holds; returns the entries."""
        seen = []

        def check():
            seen[:] = [self.queue()]
            return seen[0] if pred(seen[0]) else None
        return self.poll(check, timeout, lambda: f'{what}; queue: {seen}')

    def wait_queue_empty(self, timeout: float = WAIT_TIMEOUT) -> None:
        self.wait_queue(lambda q: not q, timeout, 'an empty queue')

    def poll(self, fn, timeout: float, what) -> object:
        """Calls fn every 50 ms until it returns something other than None and returns that; at the deadline
        fails with what() and the log's last lines."""
        deadline = time.monotonic() + timeout
        while True:
            got = fn()
            if got is not None:
                return got
            if time.monotonic() >= deadline:
                raise AssertionError(f'timed out after {timeout}s waiting for {what()}; log:\n'
                                     + '\n'.join(self.log_lines()[-30:]))
            time.sleep(0.05)

    # ---- the log ----

    def log_lines(self) -> list[str]:
        try:
            with open(self.log_path, encoding='utf-8', errors='replace') as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def wait_log(self, pred, timeout: float = WAIT_TIMEOUT, what: str = 'a log line') -> str:
        """The first log line that satisfies pred, waiting (bounded) for it."""
        return self.poll(lambda: next((l for l in self.log_lines() if pred(l)), None), timeout, lambda: what)

    def deliveries(self, qid: str) -> list[dict[str, str]]:
        """Every delivery attempt logged for this queue id, in order: agent, rcpt, relay, dsn, status (sent,
        deferred, bounced, expired) and reply (the remote reply or the reason)."""
        out = []
        for l in self.log_lines():
            m = DELIVERY_RE.search(l)
            if m and m.group('qid') == qid:
                out.append(m.groupdict())
        return out

    def wait_status(self, qid: str, status: str, count: int = 1, timeout: float = WAIT_TIMEOUT) -> list[dict]:
        """Waits until `count` delivery attempts of qid ended in `status`; returns every attempt so far."""
        def check():
            got = self.deliveries(qid)
            return got if sum(d['status'] == status for d in got) >= count else None
        return self.poll(check, timeout, lambda: f'{count} status={status} line(s) for {qid}')

    def bounce_notice(self, qid: str, timeout: float = WAIT_TIMEOUT) -> str:
        """The queue id of the non-delivery notification (DSN) Postfix made for qid."""
        line = self.wait_log(lambda l: f': {qid}: sender non-delivery notification: ' in l, timeout,
                             f'the bounce of {qid}')
        return line.rsplit(' ', 1)[1]

    # ---- mail out to the sender ----

    def mailbox(self) -> list[email.message.EmailMessage]:
        """Every message delivered to the local domain (the DSNs to SENDER), oldest first."""
        if not os.path.exists(self.mailbox_path):
            return []
        box = mailbox.mbox(self.mailbox_path, factory=lambda f: email.message_from_binary_file(
            f, policy=email.policy.default), create=False)
        try:
            return list(box)
        finally:
            box.close()

    def wait_dsn(self, qid: str, timeout: float = WAIT_TIMEOUT) -> email.message.EmailMessage:
        """The DSN that came back to the sender for qid: its notice is delivered to the mailbox, then read."""
        notice = self.bounce_notice(qid, timeout)
        self.wait_status(notice, 'sent', 1, timeout)
        for m in self.mailbox():
            if qid in m.as_string():
                return m
        raise AssertionError(f'no DSN for {qid} in {self.mailbox_path}')


class PostfixTest(FlowTest):
    """A FlowTest with private Postfix instances in front of its daemons, always stopped at cleanup."""

    def relay(self, port: int, **kw) -> PrivatePostfix:
        """A private Postfix relaying to 127.0.0.1:port (see PrivatePostfix for the keywords)."""
        pf = PrivatePostfix(port, **kw)
        self.addCleanup(pf.stop)
        return pf

    def submit(self, pf: PrivatePostfix, flow: str | None, rcpts, size: int = 0, subject: str = '') -> str:
        """Injects a message of this flow (X-Flow header; None: no header, the recipient's tag names it) and
        returns its queue id."""
        return pf.inject(flow_message(flow, subject or f'via postfix {flow}', size), rcpts)

    def assertSent(self, pf: PrivatePostfix, qid: str, rcpts, timeout: float = WAIT_TIMEOUT) -> str:
        """Waits until every recipient of qid was sent, checks that each was sent exactly once and in one
        transaction, and returns the sink's reply (its 250 ... queued as S.T) that Postfix logged."""
        pf.wait_status(qid, 'sent', len(rcpts), timeout)
        sent = [d for d in pf.deliveries(qid) if d['status'] == 'sent']
        self.assertEqual(sorted(d['rcpt'] for d in sent), sorted(rcpts), sent)
        self.assertEqual(len({d['reply'] for d in sent}), 1, f'one transaction expected: {sent}')
        self.assertRegex(sent[0]['reply'], QUEUED_RE)
        return sent[0]['reply']
