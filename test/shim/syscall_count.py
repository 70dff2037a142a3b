#!/usr/bin/env python3
"""An established virtual TCP connection costs no extra system call: strace
the same echo loop patched (through the daemon) and unpatched (direct), and
count the read/write/send/recv calls made on the socket's fd.

usage: syscall_count.py ECHO_LOOP_PROGRAM   (skipped, exit 77, without strace)
"""

import os
import re
import shutil
import socket
import sys

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash  # noqa: E402
from netleash_skip import skip  # noqa: E402

ITERATIONS = 1000
DATA_CALLS = re.compile(r"^(?:\d+\s+)?(read|write|sendto|recvfrom|sendmsg|recvmsg|readv|writev)\((\d+),")


def count(nl, cmd, env):
    trace = os.path.join(nl.dir, "trace.%d" % len(os.listdir(nl.dir)))
    result = nl.run(["strace", "-f", "-qq", "-o", trace, "-e", "trace=read,write,sendto,recvfrom,sendmsg,recvmsg,readv,writev"]
                    + cmd + [str(ITERATIONS)], env=env, timeout=120)
    if result.returncode != 0:
        raise SystemExit(f"FAIL: {cmd[0]} exited {result.returncode}: {result.stderr}")
    fd = int(re.search(r"fd (\d+)", result.stdout).group(1))
    calls = {}
    with open(trace) as f:
        for line in f:
            m = DATA_CALLS.match(line)
            if m and int(m.group(2)) == fd:
                calls[m.group(1)] = calls.get(m.group(1), 0) + 1
    return calls


def main():
    if shutil.which("strace") is None:
        skip("strace is not installed")
    program = os.path.abspath(sys.argv[1])
    with Netleash(start=False) as nl:
        echo = nl.start_tcp_echo_server(socket.AF_INET)
        nl.write_policy("shim-syscalls", {"outbound": [{"cidr": "127.0.0.1", "ports": [echo.port]}]})
        nl.start_daemon()
        patched = nl.patch(program, "shim-syscalls")
        env = {"NLT_TCP4_PORT": echo.port}
        direct = count(nl, [program], env)
        through = count(nl, [patched], env)
    total_direct, total_through = sum(direct.values()), sum(through.values())
    print(f"unpatched: {direct} total {total_direct} ({total_direct / ITERATIONS / 4:.3f} per call)")
    print(f"patched:   {through} total {total_through} ({total_through / ITERATIONS / 4:.3f} per call)")
    # The patched run adds only its connection setup (Request out, Verdict and
    # Result in); short reads of the echo could add a few on either side.
    if total_through > total_direct + 3 + ITERATIONS // 100:
        print("FAIL: the patched program makes more data system calls", file=sys.stderr)
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
