#!/usr/bin/python3
"""Outbound benchmark: programs patched with netleash, their connections going
out through the daemon (an outbound rule allowing 127.0.0.1:PORT), against the
same programs unpatched (direct) and, where it applies, run under
proxychains-ng through microsocks (a SOCKS5 proxy: the usual alternative).

One run measures: bulk throughput (iperf3 -t SECONDS), new connections per
second (wrk -t2 -c32 with `Connection: close` against a local nginx), the
latency added per connect and per small request/response (a python3 loop),
the daemon's memory per idle relayed connection, and the data system calls per
send/recv on an established connection (strace). Writes bench/out/outbound.md
and bench/out/outbound.json.
"""

import argparse
import json
import os
import platform
import re
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'out')
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'lib'))

PYTHON = '/usr/bin/python3.11'
APP = 'bench-out'

NGINX_CONF = """
daemon off;
master_process on;
worker_processes 2;
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

# Run by python3.11, patched or not: argv = MODE PORT N.
CLIENT = r'''
import socket, sys, time
mode, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
addr = ('127.0.0.1', port)
if mode == 'latency':
    t = time.perf_counter()
    for _ in range(n):
        s = socket.socket()
        s.connect(addr)
        s.sendall(b'x')
        s.recv(1)
        s.close()
    connect_us = (time.perf_counter() - t) / n * 1e6
    s = socket.socket()
    s.connect(addr)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rr = n * 10
    t = time.perf_counter()
    for _ in range(rr):
        s.send(b'x')
        s.recv(1)
    rr_us = (time.perf_counter() - t) / rr * 1e6
    s.close()
    print(connect_us, rr_us)
elif mode == 'syscalls':
    s = socket.socket()
    s.connect(addr)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print('fd', s.fileno(), flush=True)
    for _ in range(n):
        s.send(b'x')
        s.recv(1)
    s.close()
elif mode == 'idle':
    held = []
    for _ in range(n):
        s = socket.socket()
        s.connect(addr)
        held.append(s)
    print('ready', flush=True)
    sys.stdin.read()
'''

DATA_CALLS = re.compile(r'^(?:\d+\s+)?(read|write|sendto|recvfrom|sendmsg|recvmsg|readv|writev)\((\d+),')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_listening(port, proc, what, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f'{what} exited with {proc.returncode}')
        with socket.socket() as s:
            if s.connect_ex(('127.0.0.1', port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f'{what} did not start listening')


def stop(proc, sig=signal.SIGTERM, timeout=15):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def rss_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def load():
    return round(os.getloadavg()[0], 2)


class IdleServer:
    """Accepts everything and never reads: the connections stay idle."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(4096)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self._stop = False
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ)
        while not self._stop:
            if sel.select(0.2):
                try:
                    self.held.append(self.sock.accept()[0])
                except OSError:
                    pass
        sel.close()

    def drop(self):
        for c in self.held:
            c.close()
        self.held = []

    def close(self):
        self._stop = True
        self._thread.join(5)
        self.drop()
        self.sock.close()


def iperf(cmd_prefix, port, seconds, env):
    out = subprocess.run([*cmd_prefix, '-c', '127.0.0.1', '-p', str(port), '-t', str(seconds), '-J'],
                         capture_output=True, text=True, env=env, timeout=seconds + 30)
    try:
        data = json.loads(out.stdout[out.stdout.index('{'):])
        return data['end']['sum_received']['bits_per_second'] / 1e9
    except (ValueError, KeyError) as e:
        raise RuntimeError(f'iperf3 failed ({out.returncode}): {out.stdout[-500:]} {out.stderr[-500:]}') from e


def wrk(cmd_prefix, port, seconds, env):
    out = subprocess.run([*cmd_prefix, '-t2', '-c32', f'-d{seconds}s', '-H', 'Connection: close',
                          f'http://127.0.0.1:{port}/'], capture_output=True, text=True, env=env,
                         timeout=seconds + 30)
    m = re.search(r'Requests/sec:\s+([\d.]+)', out.stdout)
    if not m:
        raise RuntimeError(f'wrk failed ({out.returncode}): {out.stdout[-500:]} {out.stderr[-500:]}')
    errors = re.search(r'Non-2xx or 3xx responses: \d+|Socket errors: .*', out.stdout)
    return float(m.group(1)), errors.group(0) if errors else None


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--build-dir', required=True)
    parser.add_argument('--seconds', type=int, default=5, help='per iperf3 and wrk run')
    parser.add_argument('--connects', type=int, default=2000, help='connect+1 byte round trips')
    args = parser.parse_args()
    build = os.path.abspath(args.build_dir)
    os.environ.setdefault('NETLEASHD', os.path.join(build, 'src/netleashd/netleashd'))
    os.environ.setdefault('NETLEASH_PATCH', os.path.join(build, 'src/patcher/netleash-patch'))
    os.environ.setdefault('NETLEASH_SHIM', os.path.join(build, 'src/shim/libnetleash.so.1'))
    for tool in ('iperf3', 'wrk', 'proxychains4', 'microsocks', 'strace'):
        if shutil.which(tool) is None:
            sys.exit(f'outbound_bench: needs {tool} (apt-get install iperf3 wrk nginx-light proxychains4 '
                     'microsocks strace)')
    from netleash_harness import Netleash

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by the children
    idle_count = max(1, min(10000, (hard - 200) // 2))
    secs = args.seconds
    results = {'load_start': load()}
    procs = []
    nginx = None
    with tempfile.TemporaryDirectory(prefix='netleash-outbench-') as work, \
            Netleash(start=False, config={'max_connections': idle_count + 100,
                                          'max_connections_per_app': idle_count + 100}) as nl:
        try:
            client_py = os.path.join(work, 'client.py')
            with open(client_py, 'w') as f:
                f.write(CLIENT)
            # Servers, all unpatched.
            iperf_port = free_port()
            p = subprocess.Popen(['iperf3', '-s', '-p', str(iperf_port), '-B', '127.0.0.1'],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(p)
            wait_listening(iperf_port, p, 'iperf3 -s')
            ngx = os.path.join(work, 'nginx')
            os.makedirs(os.path.join(ngx, 'www'))
            with open(os.path.join(ngx, 'www', 'index.html'), 'w') as f:
                f.write('x' * 612)
            nginx_port = free_port()
            with open(os.path.join(ngx, 'nginx.conf'), 'w') as f:
                f.write(NGINX_CONF.format(work=ngx, port=nginx_port))
            nginx = subprocess.Popen(['/usr/sbin/nginx', '-p', ngx, '-c', os.path.join(ngx, 'nginx.conf'),
                                      '-e', os.path.join(ngx, 'error.log')])
            procs.append(nginx)
            wait_listening(nginx_port, nginx, 'nginx')
            socks_port = free_port()
            socks_log = open(os.path.join(work, 'microsocks.log'), 'w')
            p = subprocess.Popen(['microsocks', '-i', '127.0.0.1', '-p', str(socks_port)],
                                 stdout=socks_log, stderr=socks_log)
            socks_log.close()
            procs.append(p)
            wait_listening(socks_port, p, 'microsocks')
            # No localnet lines: every connection, 127.0.0.1 included, goes to the proxy.
            pc_conf = os.path.join(work, 'proxychains.conf')
            with open(pc_conf, 'w') as f:
                f.write(f'strict_chain\nquiet_mode\ntcp_read_time_out 15000\ntcp_connect_time_out 8000\n'
                        f'[ProxyList]\nsocks5 127.0.0.1 {socks_port}\n')
            proxychains = ['proxychains4', '-q', '-f', pc_conf]
            echo = nl.start_tcp_echo_server()
            idle = nl.add_server(IdleServer())
            nl.write_policy(APP, {'outbound': [{'cidr': '127.0.0.1',
                                                'ports': [iperf_port, nginx_port, echo.port, idle.port]}]})
            nl.start_daemon()
            env = nl.env()
            iperf_nl = nl.patch('/usr/bin/iperf3', APP)
            wrk_nl = nl.patch('/usr/bin/wrk', APP)
            python_nl = nl.patch(PYTHON, APP)

            def socks_connections():
                with open(os.path.join(work, 'microsocks.log')) as f:
                    return sum(1 for line in f if 'connected to' in line)

            # Bulk.
            bulk = {'load_before': load()}
            bulk['direct'] = iperf(['iperf3'], iperf_port, secs, env)
            before = socks_connections()
            bulk['proxychains'] = iperf(proxychains + ['iperf3'], iperf_port, secs, env)
            bulk['proxychains_via_microsocks'] = socks_connections() - before
            bulk['netleash'] = iperf([iperf_nl], iperf_port, secs, env)
            bulk['load_after'] = load()
            results['bulk_gbit_s'] = bulk
            print(f'bulk Gbit/s: {bulk}', flush=True)

            # New connections.
            conns = {'load_before': load()}
            wrk(['wrk'], nginx_port, 1, env)  # warm-up
            conns['direct'], conns['direct_errors'] = wrk(['wrk'], nginx_port, secs, env)
            before = socks_connections()
            conns['proxychains'], conns['proxychains_errors'] = wrk(proxychains + ['wrk'], nginx_port, secs, env)
            conns['proxychains_via_microsocks'] = socks_connections() - before
            conns['netleash'], conns['netleash_errors'] = wrk([wrk_nl], nginx_port, secs, env)
            conns['load_after'] = load()
            results['connection_close_req_s'] = conns
            print(f'connection-close req/s: {conns}', flush=True)

            # Latency per connect and per request/response.
            lat = {'load_before': load(), 'connects': args.connects, 'round_trips': args.connects * 10}
            for mode, exe in (('direct', PYTHON), ('netleash', python_nl)):
                out = subprocess.run([exe, client_py, 'latency', str(echo.port), str(args.connects)],
                                     capture_output=True, text=True, env=env, timeout=300)
                if out.returncode != 0:
                    raise RuntimeError(f'latency client ({mode}) failed: {out.stderr[-500:]}')
                connect_us, rr_us = map(float, out.stdout.split())
                lat[mode] = {'connect_us': connect_us, 'round_trip_us': rr_us}
            lat['added_connect_us'] = lat['netleash']['connect_us'] - lat['direct']['connect_us']
            lat['added_round_trip_us'] = lat['netleash']['round_trip_us'] - lat['direct']['round_trip_us']
            lat['load_after'] = load()
            results['latency'] = lat
            print(f'latency: {lat}', flush=True)

            # Daemon memory per idle relayed connection.
            mem = {'load_before': load(), 'connections': idle_count}
            daemon_pid = nl.daemon.pid
            time.sleep(0.5)
            mem['rss_before_kib'] = rss_kib(daemon_pid)
            holder = subprocess.Popen([python_nl, client_py, 'idle', str(idle.port), str(idle_count)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env=env)
            procs.append(holder)
            try:
                deadline = time.monotonic() + 120
                while len(idle.held) < idle_count and time.monotonic() < deadline and holder.poll() is None:
                    time.sleep(0.1)
                if len(idle.held) < idle_count:
                    raise RuntimeError(f'only {len(idle.held)} of {idle_count} idle connections reached the '
                                       f'server (client exit {holder.poll()})')
                time.sleep(1)
                mem['rss_after_kib'] = rss_kib(daemon_pid)
            finally:
                try:
                    holder.communicate('', timeout=60)
                except subprocess.TimeoutExpired:
                    holder.kill()
                    holder.communicate(timeout=10)
                idle.drop()
            mem['kib_per_connection'] = (mem['rss_after_kib'] - mem['rss_before_kib']) / idle_count
            mem['load_after'] = load()
            results['daemon_memory'] = mem
            print(f'daemon memory: {mem}', flush=True)

            # Data system calls per send/recv on an established connection.
            sc = {'load_before': load(), 'iterations': 1000}
            for mode, exe in (('direct', PYTHON), ('netleash', python_nl)):
                trace = os.path.join(work, f'trace.{mode}')
                out = subprocess.run(['strace', '-f', '-qq', '-o', trace, '-e',
                                      'trace=read,write,sendto,recvfrom,sendmsg,recvmsg,readv,writev',
                                      exe, client_py, 'syscalls', str(echo.port), '1000'],
                                     capture_output=True, text=True, env=env, timeout=120)
                if out.returncode != 0:
                    raise RuntimeError(f'strace client ({mode}) failed: {out.stderr[-500:]}')
                fd = int(re.search(r'fd (\d+)', out.stdout).group(1))
                calls = {}
                with open(trace) as f:
                    for line in f:
                        m = DATA_CALLS.match(line)
                        if m and int(m.group(2)) == fd:
                            calls[m.group(1)] = calls.get(m.group(1), 0) + 1
                sc[mode] = {'calls': calls, 'per_send_recv_pair': sum(calls.values()) / 1000}
            sc['load_after'] = load()
            results['syscalls'] = sc
            print(f'syscalls: {sc}', flush=True)
        finally:
            for p in reversed(procs):
                stop(p, signal.SIGQUIT if p is nginx else signal.SIGTERM)
    results['load_end'] = load()

    b, c, lat, mem, sc = (results['bulk_gbit_s'], results['connection_close_req_s'], results['latency'],
                          results['daemon_memory'], results['syscalls'])
    for d in (b, c):
        d['ratio_netleash'] = d['netleash'] / d['direct']
        d['ratio_proxychains'] = d['proxychains'] / d['direct']
    report = {'machine': {'cpus': os.cpu_count(), 'kernel': platform.release()}, 'seconds': secs,
              'results': results}
    errors = '; '.join(f'{k}: {c[k + "_errors"]}' for k in ('direct', 'proxychains', 'netleash')
                       if c[k + '_errors']) or 'none'
    lines = ['# Outbound: patched clients through netleashd vs direct vs proxychains-ng + microsocks', '',
             f'{os.cpu_count()} CPUs, kernel {platform.release()}, everything on 127.0.0.1, one run each.', '',
             '| case | direct | netleash | ratio | proxychains | ratio | goal |',
             '|---|---:|---:|---:|---:|---:|---|',
             f'| bulk, iperf3 -t {secs} (Gbit/s) | {b["direct"]:.1f} | {b["netleash"]:.1f} | '
             f'{b["ratio_netleash"]:.2f} | {b["proxychains"]:.1f} | {b["ratio_proxychains"]:.2f} | >= 0.5 |',
             f'| new connections, wrk -t2 -c32 Connection: close (req/s) | {c["direct"]:.0f} | '
             f'{c["netleash"]:.0f} | {c["ratio_netleash"]:.2f} | {c["proxychains"]:.0f} | '
             f'{c["ratio_proxychains"]:.2f} | >= 0.4 |',
             '',
             '| latency (python3, us per operation) | direct | netleash | added |',
             '|---|---:|---:|---:|',
             f'| connect + 1-byte echo + close (N={lat["connects"]}) | {lat["direct"]["connect_us"]:.1f} | '
             f'{lat["netleash"]["connect_us"]:.1f} | {lat["added_connect_us"]:.1f} |',
             f'| 1-byte request/response on one connection (N={lat["round_trips"]}) | '
             f'{lat["direct"]["round_trip_us"]:.1f} | {lat["netleash"]["round_trip_us"]:.1f} | '
             f'{lat["added_round_trip_us"]:.1f} |',
             '',
             f'Daemon memory: {mem["connections"]} idle relayed connections, VmRSS {mem["rss_before_kib"]} -> '
             f'{mem["rss_after_kib"]} KiB, {mem["kib_per_connection"]:.2f} KiB per connection (goal <= 8).',
             '',
             f'Data system calls on the socket per send+recv pair (1000 pairs, strace): direct '
             f'{sc["direct"]["per_send_recv_pair"]:.3f} {sc["direct"]["calls"]}, netleash '
             f'{sc["netleash"]["per_send_recv_pair"]:.3f} {sc["netleash"]["calls"]}.',
             '',
             f'Connections seen by microsocks: iperf3 {b["proxychains_via_microsocks"]}, '
             f'wrk {c["proxychains_via_microsocks"]} (proxychains really went through the proxy).',
             f'wrk errors: {errors}.',
             f'Load average (1 min) per case, before/after: bulk {b["load_before"]}/{b["load_after"]}, '
             f'connections {c["load_before"]}/{c["load_after"]}, latency {lat["load_before"]}/{lat["load_after"]}, '
             f'memory {mem["load_before"]}/{mem["load_after"]}, syscalls {sc["load_before"]}/{sc["load_after"]}; '
             f'on {os.cpu_count()} CPUs.', '']
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, 'outbound.md'), 'w') as f:
        f.write('\n'.join(lines))
    with open(os.path.join(OUT_DIR, 'outbound.json'), 'w') as f:
        json.dump(report, f, indent=2)
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
