#!/usr/bin/env python3
"""With NETLEASH_DEBUG=1 the shim prints the daemon's reason for a denial, not only the errno.

A patched python3 is refused a connect, a sendto, a resolve and a listen;
its stderr must carry each reason as netleashd states it (Op::kExplain).
Without NETLEASH_DEBUG the same program prints nothing and the daemon is
never asked why (no kExplain: its denials are the only audit lines).
"""

import os
import sys

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash, free_port  # noqa: E402

PROGRAM = r"""
import socket, sys
port = int(sys.argv[1])
attempts = [
    lambda: socket.create_connection(("127.0.0.1", port), timeout=10),
    lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", port)),
    lambda: socket.getaddrinfo("forbidden.test", 80),
    lambda: socket.create_server(("127.0.0.1", port)),
]
for attempt in attempts:
    try:
        attempt()
        print("allowed")
    except OSError as e:
        print(type(e).__name__)
"""


def fail(message, result=None):
    print(f"FAIL: {message}", file=sys.stderr)
    if result is not None:
        print(f"  exit {result.returncode}\n  stdout: {result.stdout}\n  stderr: {result.stderr}", file=sys.stderr)
    sys.exit(1)


def main():
    port = free_port()
    policy = {"outbound": [{"cidr": "127.0.0.1", "ports": [port + 1 if port < 65535 else port - 1]},
                           {"host": "*.allowed.test"}]}
    with Netleash(policies={"dbg": policy}, hosts={"a.allowed.test": ["127.0.0.1"]}) as nl:
        python = nl.patch(os.path.realpath("/usr/bin/python3"), "dbg")
        r = nl.run([python, "-c", PROGRAM, str(port)], env={"NETLEASH_DEBUG": "1"}, timeout=60)
        if r.stdout.split() != ["PermissionError", "PermissionError", "gaierror", "PermissionError"]:
            fail("every attempt is refused", r)
        expected = [
            f"connect 127.0.0.1:{port} denied: no rule matches 127.0.0.1:{port}/tcp",
            f"sendto udp/127.0.0.1:{port} denied: no rule matches 127.0.0.1:{port}/udp",
            "resolve forbidden.test denied: no rule allows resolving this name",
            f"listen 127.0.0.1:{port} denied: no inbound rule for 127.0.0.1:{port}/tcp",
        ]
        for line in expected:
            if line not in r.stderr:
                fail(f"NETLEASH_DEBUG=1 must print the daemon's reason: {line!r}", r)

        audit_before = len(nl.audit_lines())
        quiet = nl.run([python, "-c", PROGRAM, str(port)], timeout=60)
        if quiet.stdout != r.stdout or quiet.stderr:
            fail("without NETLEASH_DEBUG the program prints nothing of the shim's", quiet)
        # Four denials, one line each: kExplain audits nothing.
        if len(nl.audit_lines()) - audit_before != 4:
            fail(f"audit lines of the quiet run: {nl.audit_lines()[audit_before:]}")
    print("ok")


if __name__ == "__main__":
    main()
