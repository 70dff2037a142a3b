#!/usr/bin/env python3
"""netleash-run leaves no way out of its network namespace, root included:
the command holds no capability, cannot setns back (not even with a
descriptor of the caller's namespace it was handed), unshare, clone a new
namespace, mount, load BPF, reach a process outside with ptrace or /proc, or
get around the seccomp filter through a foreign system call ABI; and the exit
status contract holds. Each attempt is also made outside, as a control, where
the test runs as root: there they succeed."""

import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash, expect, wait_for  # noqa: E402

RUN = os.environ["NETLEASH_RUN"]
FOREIGN_ABI = sys.argv[1]
ATTEMPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "escape_attempts.py")

NO_CAPABILITIES = {name: 0 for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}
# SECBIT_NOROOT, NO_SETUID_FIXUP, NO_CAP_AMBIENT_RAISE, each with its lock, and KEEP_CAPS_LOCKED.
LOCKED_SECUREBITS = 0xEF
EXPECTED_INSIDE = {
    "open /proc/1/ns/net": "EACCES",
    "setns host netns": "EPERM",
    "connect host loopback": "ECONNREFUSED",
    "unshare net": "EPERM",
    "unshare user": "EPERM",
    "clone new user": "EPERM",
    "clone3": "ENOSYS",
    "mount": "EPERM",
    "fsopen": "EPERM",
    "bpf": "EPERM",
    "ptrace other": "EPERM",
    "read other environ": "EACCES",
    "securebits": LOCKED_SECUREBITS,
    "capabilities": NO_CAPABILITIES,
    "capabilities after exec": NO_CAPABILITIES,
}
# What the same attempts get as root without netleash-run: proof they are real.
# (Not the open of /proc/1/ns/net: in a container, pid 1 may be out of root's reach.)
SUCCEED_OUTSIDE_AS_ROOT = ["setns host netns", "connect host loopback",
                           "unshare net", "clone new user", "mount", "fsopen", "ptrace other",
                           "read other environ"]


def run_attempts(nl, prefix, netns_fd, port, other_pid):
    mount_dir = os.path.join(nl.dir, "mountpoint")
    os.makedirs(mount_dir, exist_ok=True)
    cmd = prefix + [sys.executable, ATTEMPTS, str(netns_fd), str(port), str(other_pid), mount_dir]
    r = subprocess.run(cmd, env=nl.env(), pass_fds=(netns_fd,), capture_output=True, text=True,
                       timeout=60)
    expect(r.returncode == 0, f"escape attempts under {prefix}", r)
    return json.loads(r.stdout)


def check_escapes(nl):
    echo = nl.start_tcp_echo_server()
    # Another confined command: same uid (root, when the test is), no capabilities.
    other = nl.spawn([RUN, "--", "sleep", "600"])
    wait_for(lambda: os.path.basename(os.readlink(f"/proc/{other.pid}/exe")) == "sleep",
             what="the other confined command to start")
    netns_fd = os.open("/proc/self/ns/net", os.O_RDONLY)  # not close-on-exec: inheritable
    os.set_inheritable(netns_fd, True)
    try:
        inside = run_attempts(nl, [RUN, "--keep-fd", str(netns_fd), "--"], netns_fd, echo.port, other.pid)
        for attempt, expected in EXPECTED_INSIDE.items():
            expect(inside.get(attempt) == expected,
                   f"inside netleash-run, '{attempt}' got {inside.get(attempt)!r}, expected {expected!r}")
        if os.geteuid() == 0:
            outside = run_attempts(nl, [], netns_fd, echo.port, other.pid)
            for attempt in SUCCEED_OUTSIDE_AS_ROOT:
                expect(outside[attempt] == "ok", f"control: '{attempt}' outside got {outside[attempt]}")
    finally:
        os.close(netns_fd)
        other.kill()
        other.wait()


def check_foreign_abis(nl):
    for abi in ("i386", "x32"):
        r = nl.run([RUN, "--", FOREIGN_ABI, abi], timeout=60)
        expect(r.returncode == -signal.SIGSYS, f"a {abi} system call must kill the command", r)
    # The i386 entry works outside (when the kernel has it), so the kill above is the filter's.
    r = nl.run([FOREIGN_ABI, "i386"], timeout=60)
    expect(r.returncode == 0, "the foreign-ABI helper outside", r)


ORDINARY_WORK = """
import ctypes, errno, threading
libc = ctypes.CDLL(None, use_errno=True)
t = threading.Thread(target=print, args=("thread",)); t.start(); t.join()
print("skip", errno.errorcode[ctypes.get_errno()] if libc.syscall(-1) < 0 else "ok")
"""


def check_ordinary_work(nl):
    # Threads still start (clone3 is refused with ENOSYS: glibc falls back to
    # clone), and system call -1, how a tracer skips a call, is no foreign ABI.
    r = nl.run([RUN, "--", sys.executable, "-c", ORDINARY_WORK], timeout=60)
    expect(r.returncode == 0 and r.stdout.split("\n")[:2] == ["thread", "skip ENOSYS"],
           "ordinary work inside netleash-run", r)


def check_exit_statuses(nl):
    r = nl.run([RUN, "--", "sh", "-c", "exit 42"], timeout=60)
    expect(r.returncode == 42, "the command's exit status", r)
    r = nl.run([RUN, "--", "sh", "-c", "kill -TERM $$"], timeout=60)
    expect(r.returncode == -signal.SIGTERM, "the command's death by signal", r)
    r = nl.run([RUN, "--", os.path.join(nl.dir, "no-such-program")], timeout=60)
    expect(r.returncode == 127 and "no-such-program" in r.stderr, "a missing command", r)
    not_executable = os.path.join(nl.dir, "not-executable")
    with open(not_executable, "w") as f:
        f.write("#!/bin/sh\n")
    r = nl.run([RUN, "--", not_executable], timeout=60)
    expect(r.returncode == 126 and "not-executable" in r.stderr, "a command that cannot run", r)


def main():
    probe = subprocess.run([RUN, "--", "true"], capture_output=True, text=True, timeout=30)
    if probe.returncode == 125:
        print(f"SKIP: netleash-run cannot create namespaces here: {probe.stderr.strip()}")
        sys.exit(77)
    with Netleash(start=False) as nl:
        check_escapes(nl)
        check_foreign_abis(nl)
        check_ordinary_work(nl)
        check_exit_statuses(nl)
    print("PASS: netleash-run confinement")


if __name__ == "__main__":
    main()
