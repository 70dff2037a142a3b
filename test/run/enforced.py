#!/usr/bin/env python3
"""Enforced mode with netleash-run: inside its fresh network namespace a
patched program reaches an allowed destination (through the daemon, whose
socket is a path and so still reachable), while an unpatched program and a
program that issues connect(2) as a raw system call reach nothing: the only
loopback they see is the namespace's own."""

import contextlib
import functools
import http.server
import os
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash, expect  # noqa: E402
from netleash_skip import skip  # noqa: E402

RUN = os.environ["NETLEASH_RUN"]
RAW_CONNECT = sys.argv[1]
CONNECT = """
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    s.sendall(b"inside"); print(s.recv(6).decode())
except OSError as e:
    print(type(e).__name__)
"""


@contextlib.contextmanager
def http_server(directory):
    """A local HTTP server for DIRECTORY in a thread; yields its port."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def main():
    # Creating a network namespace needs root or unprivileged user namespaces.
    probe = subprocess.run([RUN, "--", "true"], capture_output=True, text=True, timeout=30)
    if probe.returncode == 125:
        skip(f"netleash-run cannot create namespaces here: {probe.stderr.strip()}")

    with Netleash(start=False) as nl, http_server(os.path.join(nl.dir, "web")) as web_port:
        echo = nl.start_tcp_echo_server(socket.AF_INET)
        nl.write_policy("enforced", {"outbound": [{"cidr": "127.0.0.1", "ports": [echo.port, web_port]}]})
        nl.start_daemon()
        python = os.path.realpath("/usr/bin/python3")
        patched = nl.patch(python, "enforced")
        patched_raw = nl.patch(RAW_CONNECT, "enforced")
        port = str(echo.port)
        inside = [RUN, "--socket", nl.socket_path, "--"]

        r = nl.run(inside + [patched, "-c", CONNECT, port], timeout=60)
        expect(r.returncode == 0 and r.stdout.strip() == "inside", "patched python3 through the daemon", r)

        # Patched curl, the program of the README's service example.
        os.makedirs(os.path.join(nl.dir, "web"))
        with open(os.path.join(nl.dir, "web", "page.txt"), "w") as page:
            page.write("served\n")
        url = f"http://127.0.0.1:{web_port}/page.txt"
        curl = nl.patch("/usr/bin/curl", "enforced")
        r = nl.run(inside + [curl, "-sS", "--max-time", "30", url], timeout=60)
        expect(r.returncode == 0 and r.stdout == "served\n", "patched curl through the daemon", r)
        r = nl.run(inside + ["/usr/bin/curl", "-sS", "--max-time", "30", url], timeout=60)
        expect(r.returncode == 7, "unpatched curl must not connect", r)

        r = nl.run(inside + [python, "-c", CONNECT, port], timeout=60)
        expect(r.stdout.strip() == "ConnectionRefusedError", "unpatched python3 must reach nothing", r)

        # A raw connect system call, as static and Go programs make: the
        # namespace alone stops it (the program is not patched, so no seal)...
        r = nl.run(inside + [RAW_CONNECT, port], timeout=60)
        expect(r.returncode == 1 and r.stdout.strip() == "ECONNREFUSED",
               "a raw connect system call must reach nothing", r)
        # ...while outside the namespace the same program does reach the server:
        # the refusal above is the namespace's doing, not a broken test.
        r = nl.run([RAW_CONNECT, port], timeout=60)
        expect(r.returncode == 0 and r.stdout.strip() == "connected", "raw connect outside", r)
        # Patched, the seal refuses the socket itself, inside or out.
        for where in (inside, []):
            r = nl.run(where + [patched_raw, port], timeout=60)
            expect(r.returncode == 1 and r.stdout.strip() == "socket: EACCES",
                   "a patched program's raw socket must be refused by the seal", r)

        r = nl.run(inside + ["sh", "-c", "exit 42"], timeout=60)
        expect(r.returncode == 42, "netleash-run passes the exit status through", r)

        expect(echo.connections == 2, f"the server saw {echo.connections} connections, expected 2")
        audit = nl.audit_lines()
        expect(any(a.get("app") == "enforced" and a.get("verdict") == "allow" for a in audit),
               "no allowed connect audited")
    print("PASS: enforced mode")


if __name__ == "__main__":
    main()
