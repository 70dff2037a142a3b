#!/usr/bin/env python3
"""An accepted virtual TCP connection costs no extra system call: strace a
patched server's one-byte echo loop on an accepted socket and count the data
calls on its fd: exactly one read and one write per byte, plus the read that
sees EOF.

usage: accepted_syscalls.py ACCEPT_ECHO_LOOP_PROGRAM   (skipped, exit 77, without strace)
"""

import os
import re
import shutil
import socket
import sys

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash, free_port, wait_for  # noqa: E402
from netleash_skip import skip  # noqa: E402

ITERATIONS = 1000
DATA_CALLS = re.compile(r"^(?:\d+\s+)?(read|write|sendto|recvfrom|sendmsg|recvmsg|readv|writev)\((\d+),")


def main():
    if shutil.which("strace") is None:
        skip("strace not installed")
    vport = free_port()
    with Netleash(policies={"echo": {"inbound": [{"listen": vport, "expose": "127.0.0.1:0"}]}}) as nl:
        exe = nl.patch(sys.argv[1], "echo")
        trace = os.path.join(nl.dir, "trace")
        proc = nl.spawn(["strace", "-f", "-qq", "-o", trace, "-e",
                         "trace=read,write,sendto,recvfrom,sendmsg,recvmsg,readv,writev", exe],
                        env={"NLT_LISTEN_PORT": vport}, stderr=None)
        if proc.stdout.readline().strip() != "listening":
            raise SystemExit("FAIL: the server did not listen")
        line = wait_for(lambda: [a for a in nl.audit_lines() if a["op"] == "listen"], 10, "the listen line")[0]
        with socket.create_connection(("127.0.0.1", int(line["dst"].rsplit(":", 1)[1])), timeout=10) as s:
            fd = int(re.match(r"fd (\d+)", proc.stdout.readline()).group(1))
            for _ in range(ITERATIONS):
                s.sendall(b"x")
                if s.recv(1) != b"x":
                    raise SystemExit("FAIL: no echo")
        if proc.wait(30) != 0:
            raise SystemExit(f"FAIL: the server exited with {proc.returncode}")
        calls = {}
        with open(trace) as f:
            for entry in f:
                m = DATA_CALLS.match(entry)
                if m and int(m.group(2)) == fd:
                    calls[m.group(1)] = calls.get(m.group(1), 0) + 1
        expected = {"read": ITERATIONS + 1, "write": ITERATIONS}
        if calls != expected:
            raise SystemExit(f"FAIL: data calls on the accepted fd {calls}, expected {expected}")
    print(f"accepted socket: {calls} for {ITERATIONS} one-byte echoes: no extra system call")


if __name__ == "__main__":
    main()
