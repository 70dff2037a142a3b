#!/usr/bin/env python3
"""Tries, as a hostile command would, the ways out of netleash-run's network
namespace, and prints one JSON object: attempt -> "ok" or the errno name.

usage: escape_attempts.py HOST_NETNS_FD PORT OTHER_PID MOUNT_DIR

HOST_NETNS_FD is an open descriptor of the caller's network namespace (kept
with --keep-fd), PORT a TCP server listening on the caller's loopback,
OTHER_PID a process outside run by the same uid with no capabilities.
Everything it changes it undoes, so it can be run outside as a control."""

import ctypes
import errno
import json
import os
import re
import socket
import subprocess
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
SIGCHLD = 17
SYS_CLONE, SYS_BPF, SYS_FSOPEN, SYS_CLONE3 = 56, 321, 430, 435  # x86-64
PTRACE_SEIZE = 0x4206
PR_GET_SECUREBITS = 27


def outcome(ret):
    return "ok" if ret >= 0 else errno.errorcode[ctypes.get_errno()]


def os_outcome(action):
    try:
        action()
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]


def clone_new_user():
    pid = libc.syscall(SYS_CLONE, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)
    if pid == 0:
        os._exit(0)  # the child: nothing to do
    if pid > 0:
        os.waitpid(pid, 0)
    return outcome(pid)


def mount_tmpfs(directory):
    ret = libc.mount(b"none", directory.encode(), b"tmpfs", 0, None)
    result = outcome(ret)
    if ret == 0:
        libc.umount2(directory.encode(), 0)
    return result


def fsopen_tmpfs():
    fd = libc.syscall(SYS_FSOPEN, b"tmpfs", 0)
    result = outcome(fd)
    if fd >= 0:
        os.close(fd)
    return result


def capabilities(status_text):
    return {k: int(v, 16) for k, v in re.findall(r"^(Cap\w+):\s+(\w+)$", status_text, re.M)}


def main():
    host_netns, port, other_pid, mount_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    results = {
        "open /proc/1/ns/net": os_outcome(lambda: os.close(os.open("/proc/1/ns/net", os.O_RDONLY))),
        "setns host netns": outcome(libc.setns(host_netns, CLONE_NEWNET)),
    }
    # Wherever the setns above left this process: can it reach the caller's server?
    results["connect host loopback"] = os_outcome(
        lambda: socket.create_connection(("127.0.0.1", port), timeout=10).close())
    results.update({
        "unshare net": outcome(libc.unshare(CLONE_NEWNET)),
        "clone new user": clone_new_user(),
        "clone3": outcome(libc.syscall(SYS_CLONE3, 0, 0)),
        "mount": mount_tmpfs(mount_dir),
        "fsopen": fsopen_tmpfs(),
        "bpf": outcome(libc.syscall(SYS_BPF, 0, 0, 0)),
        "ptrace other": outcome(libc.ptrace(PTRACE_SEIZE, int(other_pid), 0, 0)),
        "read other environ": os_outcome(lambda: open(f"/proc/{other_pid}/environ", "rb").read()),
        "securebits": libc.prctl(PR_GET_SECUREBITS, 0, 0, 0, 0),
    })
    with open("/proc/self/status") as status:
        results["capabilities"] = capabilities(status.read())
    # A program it executes (uid 0 when run by root) must get none back.
    child = subprocess.run(["cat", "/proc/self/status"], capture_output=True, text=True, check=True)
    results["capabilities after exec"] = capabilities(child.stdout)
    # Last: where it succeeds (outside), this process is left in a user
    # namespace with no ids mapped, which would fail the attempts above.
    results["unshare user"] = outcome(libc.unshare(CLONE_NEWUSER))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
