#!/usr/bin/env python3
"""A TCP socket the caller leaves open across exec was made in the caller's
network namespace and reaches the network from anywhere: netleash-run closes
every inherited descriptor above 2, except one named with --keep-fd, which
stays open (and, as this shows, still reaches the caller's server)."""

import os
import socket
import subprocess
import sys

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash, expect  # noqa: E402

RUN = os.environ["NETLEASH_RUN"]
USE_FD = """
import os, socket, sys
fds = [int(fd) for fd in sys.argv[1:]]
for fd in fds:
    try:
        s = socket.socket(fileno=os.dup(fd))
    except OSError as e:
        print(f"{fd}:closed" if e.errno == 9 else f"{fd}:{e}")
        continue
    s.settimeout(10)  # the caller's timeout left the descriptor non-blocking
    s.sendall(b"through-%d" % fd)
    print(f"{fd}:" + s.recv(64).decode())
"""


def run_with_fds(nl, options, fds):
    cmd = [RUN] + options + ["--", sys.executable, "-c", USE_FD] + [str(fd) for fd in fds]
    return subprocess.run(cmd, env=nl.env(), pass_fds=fds, capture_output=True, text=True, timeout=60)


def main():
    probe = subprocess.run([RUN, "--", "true"], capture_output=True, text=True, timeout=30)
    if probe.returncode == 125:
        print(f"SKIP: netleash-run cannot create namespaces here: {probe.stderr.strip()}")
        sys.exit(77)
    with Netleash(start=False) as nl:
        echo = nl.start_tcp_echo_server(socket.AF_INET)
        connected = [socket.create_connection(("127.0.0.1", echo.port), timeout=10) for _ in range(2)]
        first, second = (s.fileno() for s in connected)
        for fd in (first, second):
            os.set_inheritable(fd, True)  # no CLOEXEC, as a careless caller leaves it

        r = run_with_fds(nl, [], [first, second])
        expect(r.returncode == 0 and r.stdout.split() == [f"{first}:closed", f"{second}:closed"],
               "inherited TCP sockets must be closed inside", r)

        r = run_with_fds(nl, ["--keep-fd", str(second)], [first, second])
        expect(r.returncode == 0 and r.stdout.split() == [f"{first}:closed", f"{second}:through-{second}"],
               "--keep-fd keeps exactly the named descriptor", r)

        r = run_with_fds(nl, [f"--keep-fd={first}", "--keep-fd", str(second)], [first, second])
        expect(r.stdout.split() == [f"{first}:through-{first}", f"{second}:through-{second}"],
               "--keep-fd repeated keeps each", r)

        for bad, reason in (("x1", "not a descriptor number"), ("-1", "not a descriptor number"),
                            ("987", "not an open descriptor")):
            r = subprocess.run([RUN, "--keep-fd", bad, "--", "true"], capture_output=True, text=True,
                               timeout=30)
            expect(r.returncode == 2 and f"--keep-fd '{bad}': {reason}" in r.stderr,
                   f"--keep-fd {bad} must be refused", r)
        for s in connected:
            s.close()
    print("PASS: netleash-run inherited descriptors")


if __name__ == "__main__":
    main()
