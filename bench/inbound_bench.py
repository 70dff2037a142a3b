#!/usr/bin/python3
"""Inbound benchmark: wrk against nginx patched with netleash (an inbound rule,
clients reach it through the daemon's exposed address) and against the same
nginx unpatched (clients reach it directly).

Four wrk runs per mode, the modes taking turns: throughput with keep-alive,
throughput with `Connection: close` (a new connection per request), and the
same two with one connection (latency: the average per request). Reports
requests/s, the ratios netleash/direct and the latency each request gains, in
bench/out/inbound.md and bench/out/inbound.json.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'out')
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'lib'))

NGINX_CONF = """
daemon off;
master_process on;
worker_processes 1;
user root;
pid {work}/nginx.pid;
error_log {work}/error.log error;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path {work}/body;
  proxy_temp_path {work}/proxy;
  fastcgi_temp_path {work}/fastcgi;
  uwsgi_temp_path {work}/uwsgi;
  scgi_temp_path {work}/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {work}/www;
  }}
}}
"""

SCENARIOS = [  # name, wrk connections, extra wrk arguments
    ('keep-alive', 32, []),
    ('connection-close', 32, ['-H', 'Connection: close']),
    ('latency keep-alive (1 connection)', 1, []),
    ('latency connection-close (1 connection)', 1, ['-H', 'Connection: close']),
]


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_listening(port, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f'nginx exited with {proc.returncode}')
        with socket.socket() as s:
            if s.connect_ex(('127.0.0.1', port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError('nginx did not start listening')


def parse_latency_us(text):
    m = re.search(r'Latency\s+([\d.]+)(us|ms|s)\b', text)
    scale = {'us': 1, 'ms': 1e3, 's': 1e6}[m.group(2)]
    return float(m.group(1)) * scale


def run_wrk(port, connections, extra, seconds):
    out = subprocess.run(['wrk', '-t1', f'-c{connections}', f'-d{seconds}s', *extra, f'http://127.0.0.1:{port}/'],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))
    errors = re.search(r'Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)', out)
    return {'rps': rps, 'latency_us': parse_latency_us(out), 'errors': errors.group(0) if errors else None}


class Nginx:
    """nginx on a private prefix; through netleash when `nl` (a harness Netleash) is given."""

    def __init__(self, work, nl=None):
        self.work = work
        os.makedirs(os.path.join(work, 'www'), exist_ok=True)
        with open(os.path.join(work, 'www', 'index.html'), 'w') as f:
            f.write('x' * 612)  # the size of nginx's default page
        port = free_port()
        conf = os.path.join(work, 'nginx.conf')
        with open(conf, 'w') as f:
            f.write(NGINX_CONF.format(work=work, port=port))
        argv = ['-p', work, '-c', conf, '-e', os.path.join(work, 'error.log')]
        if nl is None:
            self.proc = subprocess.Popen(['/usr/sbin/nginx', *argv])
            self.port = port
            wait_listening(self.port, self.proc)
        else:
            nl.write_policy('bench-nginx', {'inbound': [{'listen': port, 'expose': '127.0.0.1:0'}]})
            nl.reload()
            exe = nl.patch('/usr/sbin/nginx', 'bench-nginx')
            self.proc = subprocess.Popen([exe, *argv], env=nl.env())
            deadline = time.monotonic() + 20
            self.port = None
            while self.port is None and time.monotonic() < deadline:
                for line in nl.audit_lines():
                    if line['op'] == 'listen' and line['verdict'] == 'allow':
                        self.port = int(line['dst'].rsplit(':', 1)[1])
                time.sleep(0.05)
            wait_listening(self.port, self.proc)

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        self.proc.wait(30)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--build-dir', required=True)
    parser.add_argument('--seconds', type=int, default=10, help='per wrk run')
    args = parser.parse_args()
    build = os.path.abspath(args.build_dir)
    os.environ.setdefault('NETLEASHD', os.path.join(build, 'src/netleashd/netleashd'))
    os.environ.setdefault('NETLEASH_PATCH', os.path.join(build, 'src/patcher/netleash-patch'))
    os.environ.setdefault('NETLEASH_SHIM', os.path.join(build, 'src/shim/libnetleash.so.1'))
    if shutil.which('wrk') is None or not os.path.exists('/usr/sbin/nginx'):
        sys.exit('inbound_bench: needs wrk and nginx (apt-get install wrk nginx-light)')
    from netleash_harness import Netleash

    results = {}
    with Netleash(policies={}) as nl, tempfile.TemporaryDirectory(prefix='netleash-bench-') as work:
        servers = {'direct': Nginx(os.path.join(work, 'direct')), 'netleash': Nginx(os.path.join(work, 'nl'), nl)}
        try:
            for name, connections, extra in SCENARIOS:
                results[name] = {}
                for mode in ('direct', 'netleash'):
                    run_wrk(servers[mode].port, connections, extra, 1)  # warm-up
                for mode in ('direct', 'netleash'):
                    results[name][mode] = run_wrk(servers[mode].port, connections, extra, args.seconds)
                    print(f'{name:42} {mode:9} {results[name][mode]["rps"]:10.0f} req/s '
                          f'{results[name][mode]["latency_us"]:9.1f} us avg', flush=True)
        finally:
            for server in servers.values():
                server.stop()

    report = {'machine': {'cpus': os.cpu_count(), 'kernel': platform.release()}, 'seconds': args.seconds,
              'results': results}
    lines = ['# Inbound: wrk against nginx, through netleash vs direct', '',
             f'{os.cpu_count()} CPUs, kernel {platform.release()}, wrk -t1, {args.seconds} s per run, '
             'nginx 1 worker serving a 612-byte file.', '',
             '| scenario | direct req/s | netleash req/s | ratio | wrk latency direct | wrk latency netleash | added per request |',
             '|---|---:|---:|---:|---:|---:|---:|']
    for (name, connections, _), by_mode in zip(SCENARIOS, results.values()):
        d, n = by_mode['direct'], by_mode['netleash']
        ratio = n['rps'] / d['rps']
        by_mode['ratio'] = ratio
        # With one connection requests are serial: the time each takes is 1/rate,
        # which is less noisy than wrk's latency average.
        added = 1e6 / n['rps'] - 1e6 / d['rps'] if connections == 1 else n['latency_us'] - d['latency_us']
        by_mode['added_us'] = added
        lines.append(f'| {name} | {d["rps"]:.0f} | {n["rps"]:.0f} | {ratio:.2f} | {d["latency_us"]:.0f} us | '
                     f'{n["latency_us"]:.0f} us | {added:.0f} us |')
    errors = [f'{name} ({mode}): {by_mode[mode]["errors"]}' for name, by_mode in results.items()
              for mode in ('direct', 'netleash') if by_mode[mode]['errors']]
    lines += ['', 'Added per request: for one connection, 1/rate(netleash) - 1/rate(direct) (requests are '
              'serial); for 32 connections, the difference of the wrk latency averages.',
              '', 'wrk errors: ' + ('; '.join(errors) if errors else 'none'),
              '', 'Goals: keep-alive ratio >= 0.5, connection-close ratio >= 0.4.',
              f'Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.', '']
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, 'inbound.md'), 'w') as f:
        f.write('\n'.join(lines))
    with open(os.path.join(OUT_DIR, 'inbound.json'), 'w') as f:
        json.dump(report, f, indent=2)
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
