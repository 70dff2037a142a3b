#!/usr/bin/env python3
"""UDP clients that bind their source port (dig -b, NTP, SIP) through a real netleashd, with no
inbound rule: they are clients, not servers. A patched dig -b 127.0.0.1#PORT gets its answer from
a local dnsmasq on a port an outbound rule allows, and is refused (EACCES, a "sendto" deny line)
on one no rule allows. A patched python3 that binds a fixed port talks to a UDP server it may
reach, getsockname() says the port it asked for, and a datagram from a peer it never sent to is
not delivered (the daemon's return filter); bound to port 0, it gets a virtual port."""

import os
import shutil
import socket
import subprocess
import sys

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash, expect, free_port  # noqa: E402
from local_dnsmasq import start_dnsmasq  # noqa: E402
from netleash_skip import skip  # noqa: E402

RECORDS = {"probe.nltest": "10.0.0.1", "answer.nltest": "10.1.2.3"}

# Binds a fixed source port, sends to the server, prints the echo and getsockname(); then waits
# for "go" on stdin (meanwhile a stranger and the server send to its real address) and prints
# the next datagram, which must be the server's. Finally the same with port 0.
CLIENT = r"""
import socket, sys
server = ("127.0.0.1", int(sys.argv[1]))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.bind(("127.0.0.1", int(sys.argv[2])))
s.sendto(b"hello", server)
data, peer = s.recvfrom(100)
print("echo", data.decode(), peer[1] == server[1])
print("local", *s.getsockname())
print("ready", flush=True)
sys.stdin.readline()
data, peer = s.recvfrom(100)
print("next", data.decode(), peer[1] == server[1])
z = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
z.settimeout(10)
z.bind(("127.0.0.1", 0))
z.sendto(b"zero", server)
data, _ = z.recvfrom(100)
print("zero", data.decode(), z.getsockname()[1] != 0, flush=True)
"""


def dig(nl, exe, dns_port, source_port, name):
    return nl.run([exe, "-b", f"127.0.0.1#{source_port}", "@127.0.0.1", "-p", str(dns_port),
                   "+tries=1", "+time=5", "+short", name], timeout=30)


def dig_cases(nl, dig_exe, dns_port):
    allowed = nl.patch(dig_exe, "bind-client")
    source = free_port(kind=socket.SOCK_DGRAM)
    r = dig(nl, allowed, dns_port, source, "answer.nltest")
    expect(r.returncode == 0 and r.stdout.strip() == RECORDS["answer.nltest"],
           "dig -b to an allowed server gets its answer", r)
    lines = nl.audit_lines()
    expect(not any(l["op"] == "listen" and l.get("app") == "bind-client" for l in lines),
           f"a bound client is no listener: {lines}")
    expect(any(l["op"] == "sendto" and l["verdict"] == "allow" and l.get("dst") == f"127.0.0.1:{dns_port}"
               and l.get("app") == "bind-client" for l in lines), f"dig's query audited as sendto: {lines}")

    denied = nl.patch(dig_exe, "bind-client-denied")
    r = dig(nl, denied, dns_port, source, "answer.nltest")
    expect(r.returncode != 0 and RECORDS["answer.nltest"] not in r.stdout,
           "dig -b to a server no rule allows is refused", r)
    lines = [l for l in nl.audit_lines() if l.get("app") == "bind-client-denied"]
    expect(any(l["op"] == "sendto" and l["verdict"] == "deny" and l.get("dst") == f"127.0.0.1:{dns_port}"
               and l.get("exe") == denied for l in lines), f"the refused query is audited: {lines}")


def python_case(nl, exe, server, stranger):
    source = free_port(kind=socket.SOCK_DGRAM)
    client = nl.spawn([exe, "-c", CLIENT, str(server.getsockname()[1]), str(source)], stdin=subprocess.PIPE)
    data, real = server.recvfrom(100)
    expect(data == b"hello", f"the bound client's datagram reached the server: {data!r}")
    server.sendto(b"back", real)
    out = []
    while not out or out[-1] != "ready":
        line = client.stdout.readline()
        if line == "":
            expect(False, f"client ended early: {out} {client.stderr.read()}")
        out.append(line.strip())
    expect(out[0] == "echo back True", f"the reply reached the bound client: {out}")
    expect(out[1] == f"local 127.0.0.1 {source}", f"getsockname is the bound address: {out}")
    # A stranger writes to the client's real address first, then the server: only the server's
    # datagram may be delivered (loopback keeps their order into the daemon's socket).
    stranger.sendto(b"intruder", real)
    server.sendto(b"after", real)
    client.stdin.write("go\n")
    client.stdin.flush()
    data, zero_real = server.recvfrom(100)
    expect(data == b"zero", f"the port-0 client's datagram: {data!r}")
    server.sendto(b"zero-back", zero_real)
    rest, err = client.communicate(timeout=30)
    expect(client.returncode == 0, f"client failed: {rest} {err}")
    lines = rest.split("\n")
    expect(lines[0] == "next after True", f"a peer it never sent to is not heard: {lines}")
    expect(lines[1] == "zero zero-back True", f"port 0 gets a virtual port: {lines}")


def main():
    dig_real = shutil.which("dig")
    if dig_real is None:
        skip("dig is not installed (dnsutils)")
    with Netleash(start=False) as nl, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        server.bind(("127.0.0.1", 0))
        server.settimeout(10)
        stranger.bind(("127.0.0.1", 0))
        dns_port = start_dnsmasq(nl, RECORDS, "probe.nltest")
        # "dns": "direct": the query must reach dnsmasq, not be answered by the daemon.
        nl.write_policy("bind-client", {"dns": "direct", "outbound": [
            {"cidr": "127.0.0.1", "ports": [dns_port], "protocol": "udp"}]})
        nl.write_policy("bind-client-denied", {"dns": "direct", "outbound": [
            {"cidr": "127.0.0.1", "ports": [dns_port + 1], "protocol": "udp"}]})
        nl.write_policy("bind-python", {"outbound": [
            {"cidr": "127.0.0.1", "ports": [server.getsockname()[1]], "protocol": "udp"}]})
        nl.start_daemon()
        dig_cases(nl, os.path.realpath(dig_real), dns_port)
        python_case(nl, nl.patch(os.path.realpath("/usr/bin/python3"), "bind-python"), server, stranger)
    print("ok")


if __name__ == "__main__":
    main()
