#!/usr/bin/python3
"""Start-up benchmark: what the seal costs a patched program at start.

/usr/bin/true and `python3 -c pass` are run unpatched, patched with no daemon
running (the seal: no_new_privs, Landlock, the seccomp filters; the shim puts
itself in LD_PRELOAD; offering the process tree fails at once), and patched
with a netleashd running (the first process of a tree also hands its listener
to the daemon and proves membership: one connection and one probe the daemon
answers, docs/identity.md). Runs take turns, RUNS each. Reports the medians and
the added times in bench/out/startup.md and bench/out/startup.json.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'out')


def measure(argv, env):
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env)
    _, status = os.waitpid(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f'startup_bench: {" ".join(argv)} failed')
    return wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--build-dir', default='build')
    parser.add_argument('--runs', type=int, default=400)
    args = parser.parse_args()
    build = os.path.abspath(args.build_dir)
    patcher = os.path.join(build, 'src/patcher/netleash-patch')
    shim = os.path.join(build, 'src/shim/libnetleash.so.1')
    python = os.path.realpath('/usr/bin/python3')
    env = {k: v for k, v in os.environ.items() if k != 'LD_PRELOAD'}
    env['NETLEASH_SOCKET'] = '/nonexistent/netleash.sock'
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        policies = os.path.join(tmp, 'policies')
        os.makedirs(policies)
        with open(os.path.join(policies, 'bench.json'), 'w') as f:
            json.dump({'app': 'bench', 'outbound': []}, f)
        socket_path = os.path.join(tmp, 'netleashd.sock')
        daemon = subprocess.Popen([os.path.join(build, 'src/netleashd/netleashd'), '--socket', socket_path,
                                   '--policy-dir', policies, '--audit-log', '/dev/null'],
                                  stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not os.path.exists(socket_path + '.dgram') and time.monotonic() < deadline:
            time.sleep(0.01)
        with_daemon = dict(env, NETLEASH_SOCKET=socket_path)
        programs = {'true': ['/usr/bin/true'], 'python3 -c pass': [python, '-c', 'pass']}
        for label, argv in programs.items():
            patched = os.path.join(tmp, os.path.basename(argv[0]) + '.patched')
            subprocess.run([patcher, '--app', 'bench', '--shim', shim, '-o', patched, argv[0]], check=True)
            variants = {'unpatched': (argv, env), 'patched': ([patched] + argv[1:], env),
                        'patched, daemon': ([patched] + argv[1:], with_daemon)}
            times = {name: [] for name in variants}
            for _ in range(args.runs):
                for name, (cmd, cmd_env) in variants.items():
                    times[name].append(measure(cmd, cmd_env))
            med = {name: statistics.median(t) * 1e6 for name, t in times.items()}
            results[label] = {'median_us': med, 'added_us': med['patched'] - med['unpatched'],
                              'added_with_daemon_us': med['patched, daemon'] - med['unpatched'],
                              'runs': args.runs}
        daemon.terminate()
        daemon.wait()
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, 'startup.json'), 'w') as f:
        json.dump(results, f, indent=2)
    lines = ['| program | unpatched (µs) | patched, no daemon (µs) | added | patched, daemon (µs) | added |',
             '|---|---|---|---|---|---|']
    for label, r in results.items():
        m = r['median_us']
        lines.append(f"| {label} | {m['unpatched']:.0f} | {m['patched']:.0f} | {r['added_us']:+.0f} | "
                     f"{m['patched, daemon']:.0f} | {r['added_with_daemon_us']:+.0f} |")
    report = '\n'.join(lines) + '\n'
    with open(os.path.join(OUT_DIR, 'startup.md'), 'w') as f:
        f.write(report)
    print(report, end='')


if __name__ == '__main__':
    main()
