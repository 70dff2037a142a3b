#!/usr/bin/python3
"""Patch benchmark: time and peak memory of netleash-patch, `patchelf
--add-needed` and plain `cp` on /usr/bin/curl and /usr/bin/node.

Each (file, tool) pair is warmed up once, then run RUNS times (the tools
taking turns), each run writing to a fresh path in one temp dir under
bench/out (one filesystem for every tool; page cache left as it is). Wall time
is measured around spawn..wait; peak RSS comes from /usr/bin/time on the
warm-up run. Reports the median and the ratios to cp in bench/out/patch.md and
bench/out/patch.json.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'out')
FILES = ['/usr/bin/curl', '/usr/bin/node']
SHIM = 'libnetleash.so.1'


def tool_commands(patcher):
    """Tool name -> function(src, dst) -> argv."""
    tools = {'cp': lambda src, dst: ['cp', src, dst],
             'patchelf': lambda src, dst: ['patchelf', '--add-needed', SHIM,
                                           '--output', dst, src]}
    if patcher:
        tools['netleash-patch'] = lambda src, dst: [patcher, '--app', 'bench', '-o', dst, src]
    return tools


def measure(argv):
    """Run ARGV once; return its wall time in seconds."""
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ)
    _, status = os.waitpid(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f'patch_bench: {" ".join(argv)} failed with status '
                 f'{os.waitstatus_to_exitcode(status)}')
    return wall


def peak_rss_kib(argv, tmp):
    """Peak RSS of one run of ARGV, measured by /usr/bin/time. A child spawned
    from this Python process would report Python's own RSS as its peak (the
    kernel counts the pre-exec address space), so a small launcher is needed;
    its ~2 MiB is the floor of the figure."""
    rss_file = os.path.join(tmp, 'rss')
    measure(['/usr/bin/time', '-f', '%M', '-o', rss_file, *argv])
    with open(rss_file) as f:
        return int(f.read().split()[-1])


def bench(tools, src, tmp, runs):
    """Tool name -> results for SRC. Tools take turns run by run, so a change
    in machine load during the benchmark hits every tool alike."""
    rss, walls = {}, {name: [] for name in tools}
    for name, make_argv in tools.items():
        dst = os.path.join(tmp, 'warm-up')
        # The warm-up run (caches, the tool's own page faults) measures memory.
        rss[name] = peak_rss_kib(make_argv(src, dst), tmp)
        os.unlink(dst)
    for i in range(runs):
        for name, make_argv in tools.items():
            dst = os.path.join(tmp, f'{name}-{i}')
            walls[name].append(measure(make_argv(src, dst)))
            os.unlink(dst)  # node outputs are 99 MB each; keep the disk footprint flat
    return {name: {'median_s': statistics.median(w), 'min_s': min(w), 'max_s': max(w),
                   'runs_s': w, 'peak_rss_kib': rss[name]} for name, w in walls.items()}


def tool_version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0] if lines else None


def cpu_model():
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    return platform.machine()


def markdown(report):
    lines = [f'# Patch benchmark ({report["date"]})', '',
             f'{report["machine"]}; median of {report["runs"]} runs after one warm-up '
             '(the warm-up gives the peak RSS).', '',
             '| file | size | tool | median s | min s | max s | peak RSS MiB | ratio to cp |',
             '|---|---:|---|---:|---:|---:|---:|---:|']
    for f in report['files']:
        for tool, r in f['tools'].items():
            lines.append(f'| {os.path.basename(f["file"])} | {f["size"] / 2**20:.1f} MiB | {tool} '
                         f'| {r["median_s"]:.4f} | {r["min_s"]:.4f} | {r["max_s"]:.4f} '
                         f'| {r["peak_rss_kib"] / 1024:.1f} | {r["ratio_to_cp"]:.2f} |')
    lines += ['', 'Goal: netleash-patch within 1.5x of cp, peak memory far below the file size. '
              'Reference machine (node): patchelf 0.57 s, cp 0.056 s.', '']
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--build-dir', required=True, help='meson build directory with netleash-patch')
    ap.add_argument('--runs', type=int, default=7)
    args = ap.parse_args()
    if args.runs < 5:
        ap.error('--runs must be at least 5')
    patcher = os.path.join(os.path.abspath(args.build_dir), 'src', 'patcher', 'netleash-patch')
    if not os.access(patcher, os.X_OK):
        print(f'patch_bench: {patcher} not built; measuring cp and patchelf only', file=sys.stderr)
        patcher = None
    tools = tool_commands(patcher)

    os.makedirs(OUT_DIR, exist_ok=True)
    report = {'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
              'machine': f'{cpu_model()}, {os.cpu_count()} CPUs, Linux {platform.release()}',
              'runs': args.runs,
              'versions': {'patchelf': tool_version(['patchelf', '--version']),
                           'cp': tool_version(['cp', '--version']),
                           'netleash-patch': patcher and tool_version([patcher, '--version'])},
              'files': []}
    # Outputs go next to bench/out, on the same filesystem for every tool.
    with tempfile.TemporaryDirectory(dir=OUT_DIR) as tmp:
        for src in FILES:
            entry = {'file': src, 'size': os.path.getsize(src),
                     'tools': bench(tools, src, tmp, args.runs)}
            cp = entry['tools']['cp']['median_s']
            for r in entry['tools'].values():
                r['ratio_to_cp'] = r['median_s'] / cp
            report['files'].append(entry)

    md = markdown(report)
    with open(os.path.join(OUT_DIR, 'patch.md'), 'w') as f:
        f.write(md)
    with open(os.path.join(OUT_DIR, 'patch.json'), 'w') as f:
        json.dump(report, f, indent=1)
        f.write('\n')
    print(md)


if __name__ == '__main__':
    main()
