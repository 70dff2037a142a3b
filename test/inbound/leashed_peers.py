#!/usr/bin/env python3
"""Leashed clients reach leashed listeners at their virtual addresses.

A patched python3 listens on 127.0.0.1 port 0 (an inbound rule exposes it on
another real port) and a patched python3 connects to the address getsockname
gave it. Nothing really listens there, so the daemon must join the client to
the listener itself, as a real host connects a program to its own listener:

  one_process   server and client in one process: bytes both ways, both
                closes, the addresses each side sees, all four audit lines
  asyncio       the same with asyncio: non-blocking connect, epoll
  wildcard      a dual-stack listener on [::] port 0: an IPv4 and an IPv6
                loopback client, with the addresses Linux would report
  udp           a patched UDP client sends to the virtual address of a patched
                UDP server (bound to a fixed port, exposed elsewhere) and gets
                its reply from that address
  burst         20 clients connect to a listener of backlog 1 before it
                accepts: each connect completes, as on a real host (where the
                kernel would retry their SYNs), and every client is served
  two_processes the same across two processes of one app
  two_apps      client app and server app, both policies allowing it
  not_allowed   the client's outbound rules do not allow the address: EACCES,
                audited; the listener never hears of it
  outside_from  the listener's `from` excludes the client: ECONNREFUSED, the
                accept audited as denied
  exposed_same  the virtual address is also the real one (expose equals
                listen): a leashed client is joined, an unleashed one reaches
                the real listener, as before

usage: leashed_peers.py
"""

import json
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash, expect, free_port, wait_for  # noqa: E402

# Run by the patched python3. Modes: "both" (listen, connect, accept in one
# process), "serve" (listen, print the address, serve one client), "connect
# HOST PORT" (one client). Every observation is one JSON line on stdout.
PEER = r'''
import errno, json, socket, sys

def say(**kw):
    print(json.dumps(kw), flush=True)

def listen(port=0):
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    s.listen(8)
    return s

def serve_one(s):
    conn, peer = s.accept()
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    conn.sendall(b"pong " + data)
    tail = conn.recv(4096)  # the client closes: EOF
    say(side="server", peer=list(peer), local=list(conn.getsockname()), got_len=len(data),
        got_head=data[:4].decode(), tail=tail.decode())
    conn.close()

def connect(host, port):
    c = socket.socket()
    try:
        c.connect((host, port))
    except OSError as e:
        say(side="client", error=errno.errorcode.get(e.errno, str(e.errno)))
        return None
    return c

def talk(c):
    payload = b"ping" + b"x" * 100000 + b"\n"  # more than one read, one newline
    c.sendall(payload)
    data = b""
    while not data.endswith(b"\n"):
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    say(side="client", local=list(c.getsockname()), peer=list(c.getpeername()), got_bytes=len(data),
        ok=data == b"pong " + payload)
    c.close()

async def asyncio_both():
    import asyncio
    async def echo(reader, writer):
        data = await reader.readline()
        writer.write(b"pong " + data)
        await writer.drain()
        tail = await reader.read()  # the client closes: EOF
        peer = writer.get_extra_info("peername")
        say(side="server", peer=list(peer), local=list(writer.get_extra_info("sockname")), got_len=len(data),
            got_head=data[:4].decode(), tail=tail.decode())
        writer.close()
        done.set()
    done = asyncio.Event()
    limit = 1 << 20  # lines longer than asyncio's default 64 KiB
    server = await asyncio.start_server(echo, "127.0.0.1", 0, limit=limit)
    host, port = server.sockets[0].getsockname()
    say(side="server", listening=[host, port])
    reader, writer = await asyncio.open_connection(host, port, limit=limit)  # a non-blocking connect
    payload = b"ping" + b"x" * 100000 + b"\n"
    writer.write(payload)
    data = await reader.readline()
    say(side="client", local=list(writer.get_extra_info("sockname")), peer=list(writer.get_extra_info("peername")),
        got_bytes=len(data), ok=data == b"pong " + payload)
    writer.close()
    await asyncio.wait_for(done.wait(), 30)
    server.close()

def burst(n):
    """More clients than the backlog connect before the server accepts any."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    clients = [connect(*s.getsockname()) for _ in range(n)]
    served = 0
    for c in clients:
        if c is None:
            continue
        conn, _ = s.accept()
        c.sendall(b"hello")
        conn.sendall(conn.recv(5).upper())
        served += c.recv(5) == b"HELLO"
        conn.close()
        c.close()
    say(side="server", served=served)

def wildcard():
    """A dual-stack wildcard listener takes loopback clients of both families."""
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", 0))
    s.listen(4)
    port = s.getsockname()[1]
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        c = socket.socket(family)
        c.connect((host, port))
        conn, peer = s.accept()
        c.sendall(b"?")
        conn.sendall(conn.recv(1) + b"!")
        say(side="server", family=host, client_local=list(c.getsockname())[:2], peer=list(peer)[:2],
            local=list(conn.getsockname())[:2], reply=c.recv(2).decode())
        conn.close()
        c.close()

def udp_serve(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    say(side="server", listening=list(s.getsockname()))
    data, peer = s.recvfrom(65536)
    s.sendto(b"pong " + data, peer)
    say(side="server", got=data.decode(), peer=list(peer))

def udp_send(host, port):
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.settimeout(10)
    c.sendto(b"ping", (host, port))
    try:
        data, source = c.recvfrom(65536)
    except OSError as e:
        say(side="client", error=str(e))
        return
    say(side="client", got=data.decode(), source=list(source))

mode = sys.argv[1]
if mode == "udp-serve":
    udp_serve(int(sys.argv[2]))
elif mode == "udp-send":
    udp_send(sys.argv[2], int(sys.argv[3]))
elif mode == "wildcard":
    wildcard()
elif mode == "burst":
    burst(int(sys.argv[2]))
elif mode == "asyncio":
    import asyncio
    asyncio.run(asyncio_both())
elif mode == "both":
    s = listen()
    host, port = s.getsockname()
    say(side="server", listening=[host, port])
    c = connect(host, port)  # completes before accept, as with a kernel's backlog
    if c is not None:
        import threading
        t = threading.Thread(target=serve_one, args=(s,))
        t.start()
        talk(c)
        t.join(30)
elif mode == "serve":
    s = listen(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    say(side="server", listening=list(s.getsockname()))
    serve_one(s)
elif mode == "connect":
    c = connect(sys.argv[2], int(sys.argv[3]))
    if c is not None:
        talk(c)
'''

PYTHON = os.path.realpath("/usr/bin/python3")
LOOPBACK_OUT = {"cidr": "127.0.0.1/32"}  # every port: port-0 listeners get invented ones
PORT0_IN = {"listen": 0, "expose": "127.0.0.1:0", "from": ["127.0.0.1/32"]}


def fail(message, nl=None):
    if nl is not None:
        nl.dump_logs()
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def lines(proc, timeout=60):
    out, err = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        fail(f"peer exited {proc.returncode}\nstdout: {out}\nstderr: {err}")
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def read_line(proc):
    line = proc.stdout.readline()
    if not line:
        fail(f"peer exited early: {proc.stderr.read()}")
    return json.loads(line)


def find(records, **want):
    return [r for r in records if all(r.get(k) == v for k, v in want.items())]


def audited(nl, what, **want):
    return wait_for(lambda: find(nl.audit_lines(), **want), 10, what)


def check_talk(nl, records, server_app, client_app):
    """What each side saw, and the four audit lines of a joined connection."""
    server = next(r for r in records if r["side"] == "server" and "listening" in r)
    talked = next((r for r in records if r["side"] == "client" and "ok" in r), None)
    served = next((r for r in records if r["side"] == "server" and "peer" in r), None)
    if talked is None or served is None:
        fail(f"no conversation: {records}", nl)
    expect(talked["ok"], f"the client got the wrong reply: {talked}")
    expect(served["got_head"] == "ping" and served["tail"] == "", f"server side: {served}")
    host, port = server["listening"]
    # As on a real host: each side's view of the other is the other's own view of itself.
    expect(talked["peer"] == [host, port], f"client's getpeername {talked['peer']} is not {host}:{port}")
    expect(served["local"] == [host, port], f"accepted getsockname {served['local']} is not {host}:{port}")
    expect(served["peer"] == talked["local"],
           f"accept's peer {served['peer']} is not the client's getsockname {talked['local']}")
    expect(served["peer"][0] == "127.0.0.1", f"a loopback client is 127.0.0.1, not {served['peer']}")
    dst = f"{host}:{port}"
    src = f"{served['peer'][0]}:{served['peer'][1]}"
    audited(nl, "the client's connect", op="connect", app=client_app, dst=dst, verdict="allow", joined=server_app)
    audited(nl, "the listener's accept", op="accept", app=server_app, dst=dst, src=src, verdict="allow",
            joined=client_app)
    sent = served["got_len"]
    audited(nl, "the client's close line", op="close", app=client_app, dst=dst, joined=server_app,
            bytes_sent=sent, bytes_received=talked["got_bytes"])
    audited(nl, "the listener's close line", op="close", app=server_app, dst=dst, src=src, joined=client_app,
            bytes_sent=talked["got_bytes"], bytes_received=sent)


def one_process(nl, exe, mode):
    check_talk(nl, lines(nl.spawn([exe, "-c", PEER, mode])), "peers", "peers")


def two_processes(nl, server_exe, client_exe, server_app, client_app, port=0):
    server = nl.spawn([server_exe, "-c", PEER, "serve", str(port)])
    host, port = read_line(server)["listening"]
    client = nl.spawn([client_exe, "-c", PEER, "connect", host, str(port)])
    talked = lines(client)
    if any("error" in r for r in talked):
        fail(f"the client could not connect: {talked}", nl)
    check_talk(nl, [{"side": "server", "listening": [host, port]}] + talked + lines(server), server_app, client_app)


def refused(nl, server_exe, client_exe, errno_name):
    """The client fails with errno_name; the server has no connection to accept."""
    server = nl.spawn([server_exe, "-c", PEER, "serve"])
    host, port = read_line(server)["listening"]
    records = lines(nl.spawn([client_exe, "-c", PEER, "connect", host, str(port)]))
    expect(records == [{"side": "client", "error": errno_name}], f"client: {records}, not {errno_name}")
    server.kill()
    server.wait()
    return f"{host}:{port}"


def main():
    policies = {
        "peers": {"outbound": [LOOPBACK_OUT], "inbound": [PORT0_IN]},
        "client-only": {"outbound": [LOOPBACK_OUT]},
        "server-only": {"inbound": [PORT0_IN]},
        "no-outbound": {"outbound": [{"cidr": "10.0.0.0/8"}]},
        "picky-server": {"inbound": [dict(PORT0_IN, **{"from": ["10.0.0.0/8"]})]},
        "dual": {"outbound": [LOOPBACK_OUT, {"cidr": "::1"}],
                 "inbound": [dict(PORT0_IN, **{"from": ["127.0.0.1/32", "::1"]})]},
    }
    case = sys.argv[1]
    fixed = free_port()
    if case == "udp":
        fixed = free_port(socket.AF_INET, socket.SOCK_DGRAM)  # only a number: nothing binds it for real
        policies["udp-server"] = {"inbound": [{"listen": fixed, "expose": "127.0.0.1:0", "from": ["127.0.0.1/32"],
                                               "protocol": "udp"}]}
        policies["udp-client"] = {"outbound": [dict(LOOPBACK_OUT, protocol="udp")]}
    if case == "exposed_same":
        policies["fixed"] = {"outbound": [LOOPBACK_OUT],
                             "inbound": [{"listen": fixed, "expose": f"127.0.0.1:{fixed}", "from": ["127.0.0.1/32"]}]}
    with Netleash(policies=policies) as nl:
        patched = {}

        def exe_of(app):
            if app not in patched:
                patched[app] = nl.patch(PYTHON, app)
            return patched[app]

        if case == "one_process":
            one_process(nl, exe_of("peers"), "both")
        elif case == "wildcard":
            v4, v6 = lines(nl.spawn([exe_of("dual"), "-c", PEER, "wildcard"]))
            port = v4["local"][1]
            expect(v4["reply"] == "?!" and v6["reply"] == "?!", f"no exchange: {v4} {v6}")
            # As Linux says: a dual-stack socket sees an IPv4 client v4-mapped.
            expect(v4["client_local"][0] == "127.0.0.1" and v4["peer"] == ["::ffff:127.0.0.1", v4["client_local"][1]]
                   and v4["local"] == ["::ffff:127.0.0.1", port], f"IPv4 client: {v4}")
            expect(v6["client_local"][0] == "::1" and v6["peer"] == v6["client_local"] and v6["local"] == ["::1", port],
                   f"IPv6 client: {v6}")
            audited(nl, "the IPv6 accept", op="accept", app="dual", dst=f"[::1]:{port}", joined="dual")
        elif case == "udp":
            server = nl.spawn([exe_of("udp-server"), "-c", PEER, "udp-serve", str(fixed)])
            host, port = read_line(server)["listening"]
            got = lines(nl.spawn([exe_of("udp-client"), "-c", PEER, "udp-send", host, str(port)]))
            expect(got == [{"side": "client", "got": "pong ping", "source": [host, port]}],
                   f"the UDP client got {got}")
            served = lines(server)
            expect(served[0]["got"] == "ping" and served[0]["peer"][0] == "127.0.0.1", f"the UDP server: {served}")
            audited(nl, "the client's sendto", op="sendto", app="udp-client", dst=f"{host}:{port}", verdict="allow")
            audited(nl, "the server's accept", op="accept", app="udp-server", protocol="udp", verdict="allow")
        elif case == "burst":
            records = lines(nl.spawn([exe_of("peers"), "-c", PEER, "burst", "20"]))
            expect(records == [{"side": "server", "served": 20}], f"a backlog of 1 and 20 clients: {records}")
        elif case == "asyncio":
            one_process(nl, exe_of("peers"), "asyncio")
        elif case == "two_processes":
            two_processes(nl, exe_of("peers"), exe_of("peers"), "peers", "peers")
        elif case == "two_apps":
            two_processes(nl, exe_of("server-only"), exe_of("client-only"), "server-only", "client-only")
        elif case == "not_allowed":
            dst = refused(nl, exe_of("server-only"), exe_of("no-outbound"), "EACCES")
            audited(nl, "the denied connect", op="connect", app="no-outbound", dst=dst, verdict="deny")
            expect(not find(nl.audit_lines(), op="accept"), "the listener heard of a client its policy refused")
        elif case == "outside_from":
            dst = refused(nl, exe_of("picky-server"), exe_of("client-only"), "ECONNREFUSED")
            audited(nl, "the allowed connect", op="connect", app="client-only", dst=dst, verdict="allow",
                    joined="picky-server")
            audited(nl, "the denied accept", op="accept", app="picky-server", dst=dst, verdict="deny",
                    joined="client-only")
        elif case == "exposed_same":
            two_processes(nl, exe_of("fixed"), exe_of("fixed"), "fixed", "fixed", port=fixed)
            # Today's path still works: an unleashed client reaches the real listener.
            server = nl.spawn([exe_of("fixed"), "-c", PEER, "serve", str(fixed)])
            read_line(server)
            with socket.create_connection(("127.0.0.1", fixed), timeout=10) as c:
                c.sendall(b"plain\n")
                expect(c.recv(100) == b"pong plain\n", "the real listener did not answer")
            lines(server)
        else:
            fail(f"unknown case {case}")
        # Under -Dsanitize=true a leak or UBSan report makes this non-zero.
        expect(nl.stop_daemon() == 0, "netleashd did not exit cleanly on SIGTERM")
    print(f"ok: {case}")


if __name__ == "__main__":
    try:
        main()
    except subprocess.TimeoutExpired as e:
        fail(f"timed out after {e.timeout}s: {e.cmd[0]} {e.cmd[-1]}")
