#!/usr/bin/python3
"""Relay benchmark: bulk TCP through netleashd with "splice": false (every
connection copies) and with the default (a connection that mostly receives
moves to splice(2); one that mostly sends keeps copying), against direct, in one
run: iperf3 throughput (one stream, four streams, one stream reversed), and the
CPU time the daemon spends to relay a fixed amount, relative to the CPU the
unpatched iperf3 client spends sending it directly. Writes bench/out/relay.md
and bench/out/relay.json.
"""

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'out')
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'lib'))

APP = 'bench-relay'
TICK = os.sysconf('SC_CLK_TCK')
MODES = ('direct', 'copy', 'splice')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_listening(port, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f'iperf3 -s exited with {proc.returncode}')
        with socket.socket() as s:
            if s.connect_ex(('127.0.0.1', port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError('iperf3 -s did not start listening')


def cpu_seconds(pid):
    """utime + stime of a running process."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def iperf(exe, port, args, env, timeout):
    """Runs one iperf3 client; returns (Gbit/s received, the client's own CPU seconds).
    iperf3 -s takes one test at a time and may still be closing the last one."""
    for _ in range(50):
        try:
            return iperf_once(exe, port, args, env, timeout)
        except ServerBusy:
            time.sleep(0.2)
    raise RuntimeError('iperf3 -s stayed busy')


class ServerBusy(Exception):
    pass


def iperf_once(exe, port, args, env, timeout):
    proc = subprocess.Popen([exe, '-c', '127.0.0.1', '-p', str(port), '-J', *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    # The client's CPU from its own report (user + system over the elapsed time).
    if 'the server is busy' in out:
        raise ServerBusy()
    try:
        data = json.loads(out[out.index('{'):])
        end = data['end']
        gbit = end['sum_received']['bits_per_second'] / 1e9
        seconds = end['sum_received']['seconds']
        cpu = end['cpu_utilization_percent']['host_total'] / 100 * seconds
        return gbit, cpu
    except (ValueError, KeyError) as e:
        raise RuntimeError(f'iperf3 failed ({proc.returncode}): {out[-500:]} {err[-500:]}') from e


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--build-dir', required=True)
    parser.add_argument('--seconds', type=int, default=5, help='per throughput run')
    parser.add_argument('--gib', type=int, default=4, help='GiB relayed for the CPU measurement')
    parser.add_argument('--rounds', type=int, default=3, help='the three modes take turns this many times')
    args = parser.parse_args()
    build = os.path.abspath(args.build_dir)
    os.environ.setdefault('NETLEASHD', os.path.join(build, 'src/netleashd/netleashd'))
    os.environ.setdefault('NETLEASH_PATCH', os.path.join(build, 'src/patcher/netleash-patch'))
    os.environ.setdefault('NETLEASH_SHIM', os.path.join(build, 'src/shim/libnetleash.so.1'))
    if shutil.which('iperf3') is None:
        sys.exit('relay_bench: needs iperf3 (apt-get install iperf3)')
    from netleash_harness import Netleash

    port = free_port()
    server = subprocess.Popen(['iperf3', '-s', '-p', str(port), '-B', '127.0.0.1'],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    policy = {'outbound': [{'cidr': '127.0.0.1', 'ports': [port]}]}
    cases = [('1 stream', []), ('4 streams', ['-P', '4']), ('1 stream, reverse', ['-R'])]
    results = {'load_start': round(os.getloadavg()[0], 2), 'gib': args.gib, 'throughput_gbit_s': {}, 'cpu': {}}
    try:
        wait_listening(port, server)
        with Netleash({APP: policy}, config={'splice': False}) as copy_nl, Netleash({APP: policy}) as splice_nl:
            daemons = {'copy': copy_nl, 'splice': splice_nl}
            exe = {'direct': '/usr/bin/iperf3'}
            env = {'direct': copy_nl.env()}
            for mode, nl in daemons.items():
                exe[mode] = nl.patch('/usr/bin/iperf3', APP, name=f'iperf3.{mode}')
                env[mode] = nl.env()
            for name, extra in cases:
                runs = {mode: [] for mode in MODES}
                for _ in range(args.rounds):
                    for mode in MODES:
                        gbit, _ = iperf(exe[mode], port, ['-t', str(args.seconds), *extra], env[mode],
                                        args.seconds + 60)
                        runs[mode].append(round(gbit, 2))
                results['throughput_gbit_s'][name] = runs
                print(f'{name}: {runs}', flush=True)
            # CPU to move a fixed amount: the daemon's, against the direct client's own.
            for name, extra in (('forward', []), ('reverse', ['-R'])):
                cpu = {mode: [] for mode in MODES}
                for _ in range(args.rounds):
                    for mode in MODES:
                        pid = daemons[mode].daemon.pid if mode != 'direct' else None
                        before = cpu_seconds(pid) if pid else 0
                        _, client_cpu = iperf(exe[mode], port, ['-n', f'{args.gib}G', *extra], env[mode], 600)
                        cpu[mode].append(round(cpu_seconds(pid) - before if pid else client_cpu, 2))
                results['cpu'][name] = cpu
                print(f'cpu seconds for {args.gib} GiB, {name}: {cpu}', flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(10)
    results['load_end'] = round(os.getloadavg()[0], 2)

    def median(values):
        values = sorted(values)
        middle = len(values) // 2
        return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2

    lines = ['# Relay: netleashd copying vs splice(2) vs direct (iperf3 on 127.0.0.1)', '',
             f'{os.cpu_count()} CPUs, kernel {platform.release()}, one run, {args.rounds} rounds (the modes '
             f'take turns), load average {results["load_start"]} -> {results["load_end"]}; ratios of medians.',
             '', '| iperf3 -t %d, Gbit/s (each round) | direct | copy | splice | copy/direct | splice/direct |'
             % args.seconds, '|---|---|---|---|---:|---:|']
    for name, runs in results['throughput_gbit_s'].items():
        d, c, s = (median(runs[m]) for m in MODES)
        lines.append(f'| {name} | {runs["direct"]} | {runs["copy"]} | {runs["splice"]} | {c / d:.2f} | {s / d:.2f} |')
    lines += ['', f'| CPU seconds to move {args.gib} GiB (each round) | direct client | copy daemon | '
              'splice daemon | copy/direct | splice/direct | splice/copy |', '|---|---|---|---|---:|---:|---:|']
    for name, cpu in list(results['cpu'].items()):
        d, c, s = (median(cpu[m]) for m in MODES)
        results['cpu'][name + '_per_gib_median'] = {m: median(cpu[m]) / args.gib for m in MODES}
        lines.append(f'| {name} | {cpu["direct"]} | {cpu["copy"]} | {cpu["splice"]} | {c / d:.2f} | '
                     f'{s / d:.2f} | {s / c:.2f} |')
    lines.append('')
    report = {'machine': {'cpus': os.cpu_count(), 'kernel': platform.release()}, 'results': results}
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, 'relay.md'), 'w') as f:
        f.write('\n'.join(lines))
    with open(os.path.join(OUT_DIR, 'relay.json'), 'w') as f:
        json.dump(report, f, indent=2)
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
