"""The fleet's other engines, run for a test: a real HAProxy (Debian's haproxy) in front of sinks and a real
Prometheus (Debian's prometheus) scraping them, each in the foreground in a temporary directory, on 127.0.0.1
ports, stopped by its PID. The configurations are the ones README's "Running a fleet" shows, on test ports."""
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request

BALANCER_SOURCE = '127.0.0.3'  # HAProxy connects to the sinks from here; only it may send a PROXY header
WAIT = 15.0  # seconds: the longest bounded wait for a state change


def binary(name: str) -> str:
    return shutil.which(name) or f'/usr/sbin/{name}'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def haproxy_config(front: int, stats: str, sinks: list[tuple[int, int]]) -> str:
    """`sinks` are (smtp, http) ports; HAProxy listens on `front` and keeps its admin socket at `stats`."""
    servers = ''.join(f'    server sink{i + 1} 127.0.0.1:{smtp} check port {http}\n' for i, (smtp, http) in enumerate(sinks))
    return f"""global
    maxconn 2000
    stats socket {stats} level admin

defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch

frontend smtp
    bind 127.0.0.1:{front}
    default_backend sinks

backend sinks
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 100ms fall 1 rise 1 send-proxy-v2 source {BALANCER_SOURCE}
{servers}"""


def prometheus_config(http_ports: list[int]) -> str:
    targets = ', '.join(f"'127.0.0.1:{p}'" for p in http_ports)
    return f"""global:
  scrape_interval: 1s
scrape_configs:
  - job_name: smtp-blackhole
    static_configs:
      - targets: [{targets}]
"""


class Engine:
    """One foreground process of another project, its output kept in a file of `directory`."""

    def __init__(self, name: str, argv: list[str], directory: str, stop_signal: int = signal.SIGTERM):
        self.name = name
        self.stop_signal = stop_signal
        self.log = open(os.path.join(directory, f'{name}.log'), 'w+b')
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=directory)

    def output(self) -> str:
        self.log.flush()
        with open(self.log.name, 'rb') as f:
            return f.read().decode('utf-8', 'replace')[-4000:]

    def alive(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f'{self.name} exited with {self.proc.returncode}: {self.output()}')

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def write(directory: str, name: str, text: str) -> str:
    path = os.path.join(directory, name)
    with open(path, 'w') as f:
        f.write(text)
    return path


class HAProxy(Engine):
    def __init__(self, front: int, sinks: list[tuple[int, int]], directory: str):
        self.stats_path = os.path.join(directory, 'haproxy.sock')
        cfg = write(directory, 'haproxy.cfg', haproxy_config(front, self.stats_path, sinks))
        super().__init__('haproxy', [binary('haproxy'), '-db', '-f', cfg], directory, signal.SIGUSR1)  # USR1: soft stop

    def servers(self) -> dict[str, dict[str, str]] | None:
        """`show stat` on the admin socket: each server of backend `sinks` by name, as a dict of its columns;
        None while the socket is not there yet."""
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(5)
                s.connect(self.stats_path)
                s.sendall(b'show stat\n')
                data = b''
                while chunk := s.recv(65536):
                    data += chunk
        except (FileNotFoundError, ConnectionRefusedError):
            return None
        lines = data.decode().splitlines()
        head = lines[0].lstrip('# ').split(',')
        rows = [dict(zip(head, l.split(','))) for l in lines[1:] if l]
        return {r['svname']: r for r in rows if r['pxname'] == 'sinks' and r['svname'].startswith('sink')}

    def wait_up(self, up: set[str]) -> dict[str, dict[str, str]]:
        """Waits (bounded) until exactly the servers in `up` are UP in HAProxy's eyes."""
        deadline = time.monotonic() + WAIT
        while True:
            self.alive()
            s = self.servers()
            if s is not None and {n for n, r in s.items() if r['status'] == 'UP'} == up:
                return s
            if time.monotonic() >= deadline:
                raise AssertionError(f'the servers UP never became {sorted(up)}: {s}; {self.output()}')
            time.sleep(0.05)


class Prometheus(Engine):
    def __init__(self, http_ports: list[int], directory: str):
        self.port = free_port()
        cfg = write(directory, 'prometheus.yml', prometheus_config(http_ports))
        super().__init__('prometheus', [binary('prometheus'), f'--config.file={cfg}',
                                        f'--storage.tsdb.path={os.path.join(directory, "tsdb")}',
                                        f'--web.listen-address=127.0.0.1:{self.port}'], directory)

    def query(self, promql: str) -> list[dict] | None:
        """An instant query: the result vector, or None while Prometheus does not answer yet."""
        url = f'http://127.0.0.1:{self.port}/api/v1/query?' + urllib.parse.urlencode({'query': promql})
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                body = json.load(r)
        except (ConnectionError, urllib.error.URLError):
            return None
        if body['status'] != 'success':
            raise AssertionError(f'{promql}: {body}')
        return body['data']['result']

    def wait_for(self, promql: str, done) -> list[dict]:
        """Waits (bounded) until `done(result)` holds for the query's result."""
        deadline = time.monotonic() + WAIT
        while True:
            self.alive()
            result = self.query(promql)
            if result is not None and done(result):
                return result
            if time.monotonic() >= deadline:
                raise AssertionError(f'{promql}: still {result}; {self.output()}')
            time.sleep(0.2)


def by_label(result: list[dict], label: str) -> dict[str, float]:
    """A result vector as {label value: sample value}."""
    return {r['metric'].get(label, ''): float(r['value'][1]) for r in result}
