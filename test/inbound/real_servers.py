#!/usr/bin/env python3
"""Real servers patched as an app with one inbound rule, through a real netleashd.

usage: real_servers.py http_server|nginx|redis|socat_udp

Each server believes it listens on a virtual port picked now; the rule
exposes it on 127.0.0.1 port 0 (the real port comes from the `listen` audit
line) and admits 127.0.0.1 only. Checked: the server answers on the exposed
address; nothing listens on the virtual one; a client bound to 127.0.0.2 is
turned away and audited.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash, free_port, wait_for  # noqa: E402


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def real_port(nl, proc, protocol_udp=False):
    def listen_line():
        if proc.poll() is not None:
            fail(f"server exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        for a in nl.audit_lines():
            if a["op"] == "listen" and a["verdict"] == "allow":
                return a
        return None
    return int(wait_for(listen_line, 30, "the listen audit line")["dst"].rsplit(":", 1)[1])


def check_virtual_port_unused(vport):
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", vport)) == 0:
            fail(f"something really listens on the virtual port {vport}")


def check_denied_tcp(nl, port):
    with socket.socket() as s:
        s.settimeout(10)
        s.bind(("127.0.0.2", 0))
        s.connect(("127.0.0.1", port))
        try:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            if s.recv(4096) != b"":
                fail("a peer outside `from` got an answer")
        except (ConnectionResetError, BrokenPipeError):
            pass
    wait_for(lambda: any(a["op"] == "accept" and a["verdict"] == "deny" and a.get("src", "").startswith("127.0.0.2:")
                         for a in nl.audit_lines()), 10, "the audited deny")


def http_get(port, path="/", close=True):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Connection": "close"} if close else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read()


def stop(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def tcp_policy(vport):
    return {"inbound": [{"listen": vport, "expose": "127.0.0.1:0", "from": ["127.0.0.1/32"]}]}


def test_http_server(nl, vport, work):
    with open(os.path.join(work, "hello.txt"), "w") as f:
        f.write("hello through netleash\n")
    exe = nl.patch(os.path.realpath("/usr/bin/python3"), "web")
    proc = nl.spawn([exe, "-m", "http.server", "--bind", "127.0.0.1", "--directory", work, str(vport)])
    port = real_port(nl, proc)
    for _ in range(5):
        status, body = http_get(port, "/hello.txt")
        if status != 200 or body != b"hello through netleash\n":
            fail(f"http.server answered {status} {body!r}")
    check_virtual_port_unused(vport)
    check_denied_tcp(nl, port)
    stop(proc)


NGINX_CONF = """
daemon off;
master_process on;
worker_processes 2;
user root;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;  # as Debian's default nginx.conf: the file goes out by sendfile(2) on the unix socket
  client_body_temp_path {work}/body;
  proxy_temp_path {work}/proxy;
  fastcgi_temp_path {work}/fastcgi;
  uwsgi_temp_path {work}/uwsgi;
  scgi_temp_path {work}/scgi;
  server {{
    listen 127.0.0.1:{vport};
    root {work}/www;
  }}
}}
"""


def test_nginx(nl, vport, work):
    os.makedirs(os.path.join(work, "www"))
    with open(os.path.join(work, "www", "index.html"), "w") as f:
        f.write("nginx behind netleash\n")
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(work=work, vport=vport))
    exe = nl.patch("/usr/sbin/nginx", "web")
    proc = nl.spawn([exe, "-p", work, "-c", conf, "-e", os.path.join(work, "error.log")])
    port = real_port(nl, proc)
    for close in (True, False):
        for _ in range(20):
            status, body = http_get(port, "/", close)
            if status != 200 or body != b"nginx behind netleash\n":
                fail(f"nginx answered {status} {body!r}")
    # Several requests on one keep-alive connection.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 2 + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        if data.count(b"HTTP/1.1 200 OK") != 3:
            fail(f"keep-alive: {data[:300]!r}")
    big = os.urandom(4 << 20)
    with open(os.path.join(work, "www", "big.bin"), "wb") as f:
        f.write(big)
    for close in (True, False):
        status, body = http_get(port, "/big.bin", close)
        if status != 200 or body != big:
            fail(f"nginx sent {len(body)} bytes of big.bin, not the 4 MiB written")
    check_virtual_port_unused(vport)
    check_denied_tcp(nl, port)
    stop(proc, signal.SIGQUIT)  # graceful: the master reaps its workers
    if proc.returncode != 0:
        fail(f"nginx exited with {proc.returncode}: {open(os.path.join(work, 'error.log')).read()}")


def redis_command(port, *words):
    payload = f"*{len(words)}\r\n".encode() + b"".join(f"${len(w)}\r\n{w}\r\n".encode() for w in words)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(payload)
        return s.recv(4096)


def test_redis(nl, vport, work):
    exe = nl.patch(os.path.realpath("/usr/bin/redis-server"), "kv", name="redis-server")
    proc = nl.spawn([exe, "--port", str(vport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--dir", work, "--daemonize", "no", "--protected-mode", "no", "--logfile", ""])
    port = real_port(nl, proc)
    if redis_command(port, "PING") != b"+PONG\r\n":
        fail("redis did not answer PING")
    if redis_command(port, "SET", "greeting", "hello") != b"+OK\r\n":
        fail("SET failed")
    if redis_command(port, "GET", "greeting") != b"$5\r\nhello\r\n":
        fail("GET failed")
    client_list = redis_command(port, "CLIENT", "LIST")
    if b"addr=127.0.0.1:" not in client_list or f"laddr=127.0.0.1:{vport}".encode() not in client_list:
        fail(f"redis sees the wrong addresses: {client_list!r}")
    check_virtual_port_unused(vport)
    check_denied_tcp(nl, port)
    stop(proc)
    # Redis's default `bind * -::*`: 0.0.0.0 and an IPV6_V6ONLY [::] on the
    # same port share the one real listener; IPv4 clients reach the first.
    proc = nl.spawn([exe, "--port", str(vport), "--save", "", "--appendonly", "no", "--dir", work,
                     "--daemonize", "no", "--protected-mode", "no", "--logfile", ""])
    wait_for(lambda: len([a for a in nl.audit_lines() if a["op"] == "listen"]) >= 3, 30, "the [::] listen line")
    listens = [a for a in nl.audit_lines() if a["op"] == "listen"][1:]
    if sorted(a["listen"] for a in listens) != sorted([f"0.0.0.0:{vport}", f"[::]:{vport}"]) or \
            any(a["verdict"] != "allow" for a in listens) or listens[0]["dst"] != listens[1]["dst"]:
        fail(f"default bind: {listens}")
    if redis_command(int(listens[0]["dst"].rsplit(":", 1)[1]), "PING") != b"+PONG\r\n":
        fail("redis (default bind) did not answer PING")
    stop(proc)


def test_socat_udp(nl, vport, work):
    exe = nl.patch("/usr/bin/socat", "udp")
    proc = nl.spawn([exe, "-T", "60", f"UDP4-LISTEN:{vport},bind=127.0.0.1", "PIPE"])
    port = real_port(nl, proc)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as outsider:
        outsider.bind(("127.0.0.2", 0))
        outsider.sendto(b"not me", ("127.0.0.1", port))
        wait_for(lambda: any(a["op"] == "accept" and a["verdict"] == "deny" for a in nl.audit_lines()), 10,
                 "the audited deny of the outside peer")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(10)
        for i in range(5):
            message = f"datagram {i}".encode()
            client.sendto(message, ("127.0.0.1", port))
            data, source = client.recvfrom(65536)
            if data != message or source != ("127.0.0.1", port):
                fail(f"socat echoed {data!r} from {source}")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:  # nothing on the virtual port
        probe.settimeout(0.5)
        probe.sendto(b"x", ("127.0.0.1", vport))
        try:
            probe.recvfrom(10)
            fail("something answered on the virtual UDP port")
        except (socket.timeout, ConnectionRefusedError):
            pass
    stop(proc)


def main():
    name = sys.argv[1]
    vport = free_port(socket.AF_INET, socket.SOCK_DGRAM if name == "socat_udp" else socket.SOCK_STREAM)
    app = {"http_server": "web", "nginx": "web", "redis": "kv", "socat_udp": "udp"}[name]
    policy = tcp_policy(vport)
    if name == "socat_udp":
        policy["inbound"][0]["protocol"] = "udp"
    with Netleash(policies={app: policy}) as nl, tempfile.TemporaryDirectory(prefix="netleash-inbound-") as work:
        globals()[f"test_{name}"](nl, vport, work)
        if nl.stop_daemon() != 0:
            fail("netleashd did not exit cleanly on SIGTERM")
    print(f"{name}: ok")


if __name__ == "__main__":
    main()
