#!/usr/bin/python3
"""Corpus suite: patch every dynamically linked program in /usr/bin and check
that `PROG --version` behaves exactly as before, with the shim loaded first.

For each regular ELF file in /usr/bin that has a PT_INTERP header:
  * setuid/setgid/file-capability programs must be refused (exit 3, no output
    file) -> "refused"; accepting one is "broken".
  * Otherwise the program is copied to a private directory under its own name
    and the copy is run twice with --version. The copy's result (stdout, stderr,
    exit status, whatever they are) is the baseline. Programs that do not exit
    within the timeout, give two different results (timestamps, PIDs) or behave
    differently from the original in /usr/bin ($ORIGIN or location dependent)
    are "skipped". A non-zero exit or empty output is still a baseline: it is
    deterministic behaviour that patching must not change.
  * The copy is patched; with --lief-check, LIEF must read the patched file back
    as the patch promises (test/patcher/lief_check.cc), else "broken". The
    patched file is run the same way and must give the baseline, and
    `LD_TRACE_LOADED_OBJECTS=1` must list the shim before
    libc.so.6 -> "ok"; a refusal (exit 3) -> "refused"; anything else "broken" —
    except that a program whose patched run differs only because it made an
    Internet socket at start-up is "sealed": the corpus shim intercepts nothing,
    so the seal (docs/seal.md) refuses that socket with EACCES, which strace
    shows. With the real shim the socket would be a virtual one.

Ends with `corpus: N ok, M broken, K refused, S skipped, X sealed`; exits 1 if M > 0.
"""

import argparse
import concurrent.futures
import ctypes
import json
import os
import shlex
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get('NETLEASH_TEST_LIB', os.path.join(HERE, '../lib')))
from lief_check import lief_check  # noqa: E402

BIN_DIR = '/usr/bin'
TIMEOUT_S = 5.0             # per `--version` run
PATCH_TIMEOUT_S = 60.0      # per patcher run (node is 99 MB)
CONFIRM_RUNS = 5            # reruns before a difference counts as broken
PT_INTERP = 3
PR_SET_CHILD_SUBREAPER = 36


def has_interp(path):
    """True when PATH is an ELF file with a PT_INTERP program header."""
    try:
        with open(path, 'rb') as f:
            ehdr = f.read(64)
            if len(ehdr) < 52 or ehdr[:4] != b'\x7fELF' or ehdr[5] not in (1, 2):
                return False
            order = '<' if ehdr[5] == 1 else '>'
            if ehdr[4] == 2:            # ELFCLASS64
                (phoff,) = struct.unpack_from(order + 'Q', ehdr, 32)
                phentsize, phnum = struct.unpack_from(order + 'HH', ehdr, 54)
            elif ehdr[4] == 1:          # ELFCLASS32
                (phoff,) = struct.unpack_from(order + 'I', ehdr, 28)
                phentsize, phnum = struct.unpack_from(order + 'HH', ehdr, 42)
            else:
                return False
            if phentsize < 4:
                return False
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except OSError:
        return False
    return any(struct.unpack_from(order + 'I', table, off)[0] == PT_INTERP
               for off in range(0, len(table) - phentsize + 1, phentsize))


def is_privileged(path):
    """setuid/setgid or file capabilities: the patcher must refuse these."""
    if os.stat(path).st_mode & (stat.S_ISUID | stat.S_ISGID):
        return True
    try:
        os.getxattr(path, 'security.capability')
        return True
    except OSError:
        return False


def corpus_programs():
    return sorted(e.name for e in os.scandir(BIN_DIR)
                  if e.is_file(follow_symlinks=False) and os.access(e.path, os.X_OK)
                  and has_interp(e.path))


class Result(NamedTuple):
    status: object      # exit status (negative: signal), 'timeout' or 'exec failed: ...'
    stdout: str
    stderr: str


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run(argv, cwd, env, timeout=TIMEOUT_S):
    """Run ARGV in its own session (no controlling terminal, stdin /dev/null).
    The whole process group is killed afterwards so nothing it forked lingers."""
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
    except OSError as e:
        return f'exec failed: {e.strerror}', b'', b''
    with proc:
        try:
            out, err = proc.communicate(timeout=timeout)
            status = proc.returncode
        except subprocess.TimeoutExpired:
            # Output is not read after a timeout: a child that left the group
            # could hold the pipes open forever.
            out, err, status = b'', b'', 'timeout'
        finally:
            kill_group(proc.pid)
    return status, out, err


class Corpus:
    def __init__(self, patch_template, shim, tmp, patcher=None, checker=None):
        self.patch_template = patch_template
        self.shim = shim
        self.tmp = tmp
        self.patcher = patcher      # netleash-patch, for --inspect
        self.checker = checker      # lief-check
        self.check_seconds = []     # per lief-check run (list.append is thread-safe)

    def patch_argv(self, src, out):
        return [arg.format(shim=self.shim, out=out, file=src) for arg in self.patch_template]

    def run_version(self, prog, work, extra_env=None):
        """Run PROG --version from a fresh, empty HOME with the program's own
        path normalised out of its output."""
        home = os.path.join(work, 'home')
        shutil.rmtree(home, ignore_errors=True)
        os.mkdir(home)
        env = {'PATH': '/usr/local/bin:/usr/bin:/bin', 'LC_ALL': 'C',
               'HOME': home, 'TMPDIR': home, **(extra_env or {})}
        status, out, err = run([prog, '--version'], home, env)

        def norm(data):
            data = data.replace(prog.encode(), b'<PROG>').replace(work.encode(), b'<WORK>')
            return data.decode('utf-8', 'backslashreplace')
        return Result(status, norm(out), norm(err))

    def seal_refused_a_socket(self, prog, work):
        """Did the seal refuse an Internet or packet socket in a run of PROG --version?"""
        log = os.path.join(work, 'strace.log')
        home = os.path.join(work, 'home')
        shutil.rmtree(home, ignore_errors=True)
        os.mkdir(home)
        env = {'PATH': '/usr/local/bin:/usr/bin:/bin', 'LC_ALL': 'C', 'HOME': home, 'TMPDIR': home}
        run(['strace', '-f', '-qq', '-e', 'trace=socket', '-o', log, prog, '--version'], home, env)
        try:
            with open(log, errors='replace') as f:
                return any('EACCES' in line and ('AF_INET' in line or 'AF_PACKET' in line)
                           for line in f)
        except OSError:
            return False

    def check(self, name):
        """Return (verdict, reason) for /usr/bin/NAME."""
        src = os.path.join(BIN_DIR, name)
        work = tempfile.mkdtemp(dir=self.tmp)
        try:
            if is_privileged(src):
                return self.check_refused(src, work)
            # Same-length directory names keep argv[0]-based column widths equal.
            copy, patched = os.path.join(work, 'a', name), os.path.join(work, 'b', name)
            os.mkdir(os.path.dirname(copy))
            os.mkdir(os.path.dirname(patched))
            shutil.copy2(src, copy)

            base = self.run_version(copy, work)
            if base.status == 'timeout':
                return 'skipped', f'no exit within {TIMEOUT_S:g} s'
            if self.run_version(copy, work) != base:
                return 'skipped', 'nondeterministic output'
            if self.run_version(src, work) != base:
                return 'skipped', '$ORIGIN or location dependent'

            status, _, err = run(self.patch_argv(copy, patched), work, None, PATCH_TIMEOUT_S)
            reason = first_line(err)
            if status == 3:
                return 'refused', reason
            if status != 0:
                return 'broken', f'patcher exit {status}: {reason}'
            if self.checker:
                started = time.monotonic()
                report = lief_check(self.checker, self.patcher, copy, patched, 'corpus', self.shim)
                self.check_seconds.append(time.monotonic() - started)
                if report:
                    return 'broken', 'LIEF: ' + report.splitlines()[0]

            after = self.run_version(patched, work)
            if after != base:
                # Races between a program's own children (groff) can pass two
                # baseline runs; a broken patch differs every time, a race not.
                for _ in range(CONFIRM_RUNS):
                    if (self.run_version(copy, work) != base
                            or self.run_version(patched, work) == base):
                        return 'skipped', 'nondeterministic output'
                if self.seal_refused_a_socket(patched, work):
                    return 'sealed', describe_difference(base, after)
                return 'broken', describe_difference(base, after)
            verdict, reason = self.check_load_order(patched, work)
            # An ok program's baseline status tells how much --version meant to it.
            return verdict, reason or f'baseline exit {base.status}'
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def check_refused(self, src, work):
        out = os.path.join(work, 'out')
        status, _, err = run(self.patch_argv(src, out), work, None, PATCH_TIMEOUT_S)
        written = os.path.lexists(out)
        if status == 3 and not written:
            return 'refused', first_line(err)
        return 'broken', (f'setuid/setgid/capability program not refused (exit {status}'
                          f'{", output written" if written else ""})')

    def check_load_order(self, patched, work):
        trace = self.run_version(patched, work, {'LD_TRACE_LOADED_OBJECTS': '1'})
        lines = trace.stdout.splitlines()
        shim_name = os.path.basename(self.shim)
        shim_at = next((i for i, l in enumerate(lines) if shim_name in l), None)
        libc_at = next((i for i, l in enumerate(lines) if 'libc.so.6' in l), len(lines))
        if trace.status != 0 or shim_at is None:
            return 'broken', f'shim not loaded (LD_TRACE_LOADED_OBJECTS exit {trace.status})'
        if shim_at > libc_at:
            return 'broken', 'shim loaded after libc.so.6'
        return 'ok', ''


def first_line(data):
    lines = data.decode('utf-8', 'backslashreplace').strip().splitlines()
    return lines[0] if lines else ''


def describe_difference(base, after):
    parts = []
    if base.status != after.status:
        parts.append(f'status {base.status} -> {after.status}')
    for stream in ('stdout', 'stderr'):
        old, new = getattr(base, stream).splitlines(), getattr(after, stream).splitlines()
        if old != new:
            i = next((i for i, (o, n) in enumerate(zip(old, new)) if o != n), min(len(old), len(new)))
            o = old[i] if i < len(old) else '<eof>'
            n = new[i] if i < len(new) else '<eof>'
            parts.append(f'{stream} line {i + 1}: {o[:80]!r} -> {n[:80]!r}')
    return '; '.join(parts)


def reap_orphans():
    """Kill and reap descendants that left their process group: as child
    subreaper they were re-parented to us. Returns how many there were."""
    count = 0
    while True:
        orphans = []
        for pid in filter(str.isdigit, os.listdir('/proc')):
            try:
                with open(f'/proc/{pid}/stat') as f:
                    ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == os.getpid():
                orphans.append(int(pid))
        if not orphans:
            return count
        for pid in orphans:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        count += len(orphans)


def build_shim(tmp):
    """Compile the stand-in shim when meson did not hand one over."""
    src = os.path.join(HERE, 'corpus_shim.c')
    lib = os.path.join(tmp, 'libcorpusshim.so')
    subprocess.run(['cc', '-shared', '-fPIC', '-O2', '-o', lib, src], check=True)
    return lib


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    how = ap.add_mutually_exclusive_group(required=True)
    how.add_argument('--patcher', help='netleash-patch executable')
    how.add_argument('--patch-cmd', help='patch command template with {shim} {out} {file}, '
                     'e.g. "patchelf --add-needed {shim} --output {out} {file}"')
    ap.add_argument('--shim', help='test shim library (default: compile corpus_shim.c)')
    ap.add_argument('--lief-check', help='lief-check executable: LIEF reads every patched file '
                    'back (with --patcher only)')
    ap.add_argument('--report', help='write a JSON report here')
    ap.add_argument('--jobs', type=int, default=os.cpu_count())
    ap.add_argument('programs', nargs='*', help=f'names in {BIN_DIR} (default: all)')
    args = ap.parse_args()
    if args.lief_check and not args.patcher:
        ap.error('--lief-check checks what netleash-patch wrote: it needs --patcher')

    if args.patcher:
        template = [os.path.abspath(args.patcher), '--app', 'corpus', '--shim', '{shim}',
                    '-o', '{out}', '{file}']
    else:
        template = shlex.split(args.patch_cmd)
    # Programs that daemonise escape their process group; become their
    # reaper so they can still be killed and waited for at the end.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix='netleash-corpus.') as tmp:
        shim = os.path.abspath(args.shim) if args.shim else build_shim(tmp)
        corpus = Corpus(template, shim, tmp, template[0], args.lief_check)
        names = args.programs or corpus_programs()
        verdicts = {}
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            futures = {pool.submit(corpus.check, n): n for n in names}
            for fut in concurrent.futures.as_completed(futures):
                name = futures[fut]
                verdict, reason = fut.result()
                verdicts[name] = {'verdict': verdict, 'reason': reason}
                if verdict == 'broken':
                    print(f'BROKEN {name}: {reason}', flush=True)
    strays = reap_orphans()
    elapsed = time.monotonic() - started

    counts = {v: sum(r['verdict'] == v for r in verdicts.values())
              for v in ('ok', 'broken', 'refused', 'skipped', 'sealed')}
    if args.report:
        with open(args.report, 'w') as f:
            json.dump({'patch_command': template, 'shim': shim, 'counts': counts,
                       'stray_processes_reaped': strays, 'elapsed_s': round(elapsed, 1),
                       'lief_checks': len(corpus.check_seconds),
                       'lief_check_s': round(sum(corpus.check_seconds), 1),
                       'programs': dict(sorted(verdicts.items()))}, f, indent=1)
            f.write('\n')
    print(f'corpus: {counts["ok"]} ok, {counts["broken"]} broken, '
          f'{counts["refused"]} refused, {counts["skipped"]} skipped, {counts["sealed"]} sealed')
    if corpus.checker:
        print(f'lief-check: {len(corpus.check_seconds)} patched files read back by LIEF in '
              f'{sum(corpus.check_seconds):.1f} s (summed over {args.jobs} jobs)')
    return 1 if counts['broken'] else 0


if __name__ == '__main__':
    sys.exit(main())
