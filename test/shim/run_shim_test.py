#!/usr/bin/env python3
"""Runs one shim test program through a real netleashd.

usage: run_shim_test.py NAME PROGRAM

Starts the daemon with a policy for app "shim-NAME", echo servers (TCP and
UDP, IPv4 and IPv6), a denied server of each kind, a refused port, a tiny
DNS responder and one-shot TCP servers (greets and closes, closes, resets); patches PROGRAM; runs it with their ports in NLT_* variables;
then applies the test's own checks (what servers saw, the audit log).
"""

import os
import socket
import struct
import subprocess
import sys
import threading

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash, free_port, wait_for  # noqa: E402

# The daemon's upstream connect timeout: how long a connect to the blackhole
# port takes to fail with ETIMEDOUT.
CONNECT_TIMEOUT_MS = 1500

HOSTS = {
    "localhost": ["127.0.0.1", "::1"],
    "echo4.nltest": ["127.0.0.1"],
    "echo6.nltest": ["::1"],
    "both.nltest": ["127.0.0.1", "::1"],
    "blocked.nltest": ["127.0.0.1"],
}


class DnsResponder:
    """Answers every A query with 192.0.2.53, over UDP and TCP on one port."""

    def __init__(self):
        for _ in range(50):
            port = free_port(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                self.udp.bind(("127.0.0.1", port))
                self.tcp.bind(("127.0.0.1", port))
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
        self.port = port
        self.tcp.listen(16)
        self._threads = [threading.Thread(target=f, daemon=True) for f in (self._udp_loop, self._tcp_loop)]
        for t in self._threads:
            t.start()

    @staticmethod
    def answer(query):
        end = 12
        while query[end] != 0:
            end += query[end] + 1
        question = query[12:end + 5]
        header = query[:2] + b"\x81\x80" + b"\x00\x01\x00\x01\x00\x00\x00\x00"
        record = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([192, 0, 2, 53])
        return header + question + record

    def _udp_loop(self):
        while True:
            try:
                data, peer = self.udp.recvfrom(512)
                self.udp.sendto(self.answer(data), peer)
            except OSError:
                return

    def _tcp_loop(self):
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            with conn:
                try:
                    length = struct.unpack("!H", conn.recv(2, socket.MSG_WAITALL))[0]
                    reply = self.answer(conn.recv(length, socket.MSG_WAITALL))
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
                except (OSError, struct.error, IndexError):
                    pass

    def close(self):
        for s in (self.udp, self.tcp):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def run_program(nl, exe, env):
    result = nl.run([exe], env=env, timeout=90)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        fail(f"{os.path.basename(exe)} exited with {result.returncode}")
    return result


def check_udp_sendmmsg(nl, servers, exe, env):
    run_program(nl, exe, env)
    if servers["denied_udp"].datagrams:
        fail(f"denied server received {servers['denied_udp'].datagrams}")
    got = [d for d, _ in servers["udp4"].datagrams]
    if got != [b"one", b"two", b"four"]:
        fail(f"allowed server received {got}")


def check_fail_closed(nl, servers, exe, env):
    nl.stop_daemon()
    proc = nl.spawn([exe], env=env, stdin=subprocess.PIPE)
    line = proc.stdout.readline()
    if line.strip() != "down-ok":
        proc.kill()
        out, err = proc.communicate()
        fail(f"while the daemon was down: {line}{out}{err}")
    nl.start_daemon()
    out, err = proc.communicate("up\n", timeout=60)
    sys.stdout.write(out)
    sys.stderr.write(err)
    if proc.returncode != 0:
        fail(f"after the restart: exit {proc.returncode}")
    if err:
        fail("the shim printed something without NETLEASH_DEBUG=1")


def check_daemon_restart(nl, servers, exe, env):
    proc = nl.spawn([exe], env=env, stdin=subprocess.PIPE)
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        out, err = proc.communicate()
        fail(f"before the restart: {line}{out}{err}")
    nl.restart_daemon()
    out, err = proc.communicate("up\n", timeout=60)
    sys.stdout.write(out)
    sys.stderr.write(err)
    if proc.returncode != 0:
        fail(f"after the restart: exit {proc.returncode}")


def check_audited(nl, servers, exe, env):
    run_program(nl, exe, env)
    lines = nl.audit_lines()
    verdicts = {(line.get("op"), line.get("verdict")) for line in lines}
    if ("connect", "allow") not in verdicts:
        fail(f"no allowed connect in the audit log: {lines[:5]}")


def check_denied_audited(nl, servers, exe, env):
    run_program(nl, exe, env)
    lines = nl.audit_lines()
    if not any(line.get("op") == "connect" and line.get("verdict") == "deny" for line in lines):
        fail("no denied connect in the audit log")
    if servers["denied_tcp"].connections:
        fail("the denied server was reached")


def check_echo_1000(nl, servers, exe, env):
    run_program(nl, exe, env)

    def exact():  # the daemon writes a close line once it has closed both ends
        return [line for line in nl.audit_lines() if line.get("op") == "close" and
                line.get("bytes_sent") == 1 << 20 and line.get("bytes_received") == 1 << 20]
    try:
        wait_for(lambda: len(exact()) >= 1000, timeout=30, what="1000 close lines")
    except TimeoutError:
        fail(f"{len(exact())} close lines record 1 MiB each way, expected 1000")
    if len(exact()) != 1000:
        fail(f"{len(exact())} close lines record 1 MiB each way, expected 1000")


def check_seal_escapes(nl, servers, exe, env):
    run_program(nl, exe, env)
    if servers["denied_tcp"].connections:
        fail("a way around the shim reached the denied TCP server")
    if servers["denied_udp"].datagrams:
        fail(f"a way around the shim reached the denied UDP server: {servers['denied_udp'].datagrams}")


SPECIAL = {
    "seal_escapes": check_seal_escapes,
    "echo_1000": check_echo_1000,
    "udp_sendmmsg": check_udp_sendmmsg,
    "fail_closed": check_fail_closed,
    "daemon_restart": check_daemon_restart,
    "tcp_echo": check_audited,
    "tcp_nonblock": check_denied_audited,
}


def main():
    name, program = sys.argv[1], os.path.abspath(sys.argv[2])
    app = f"shim-{name}"
    with Netleash(hosts=HOSTS, config={"connect_timeout_ms": CONNECT_TIMEOUT_MS}, start=False) as nl:
        servers = {
            "tcp4": nl.start_tcp_echo_server(socket.AF_INET),
            "tcp6": nl.start_tcp_echo_server(socket.AF_INET6),
            "udp4": nl.start_udp_echo_server(socket.AF_INET),
            "udp6": nl.start_udp_echo_server(socket.AF_INET6),
            "denied_tcp": nl.start_tcp_echo_server(socket.AF_INET),
            "denied_udp": nl.start_udp_echo_server(socket.AF_INET),
            "dns": nl.add_server(DnsResponder()),
            "blackhole": nl.start_blackhole_server(socket.AF_INET),
            "greet": nl.start_one_shot_server(socket.AF_INET, greeting=b"hello\n"),
            "close": nl.start_one_shot_server(socket.AF_INET),
            "reset": nl.start_one_shot_server(socket.AF_INET, reset=True),
        }
        refused = free_port()
        dns = servers["dns"].port
        tcp4, tcp6 = servers["tcp4"].port, servers["tcp6"].port
        nl.write_policy(app, {"outbound": [
            {"cidr": "127.0.0.1", "ports": [tcp4, refused, dns], "protocol": "tcp"},
            {"cidr": "::1", "ports": [tcp6, refused], "protocol": "tcp"},
            {"cidr": "127.0.0.1", "ports": [servers["udp4"].port, dns], "protocol": "udp"},
            {"cidr": "::1", "ports": [servers["udp6"].port], "protocol": "udp"},
            {"cidr": "127.0.0.1", "ports": [servers["blackhole"].port]},
            {"cidr": "127.0.0.1", "ports": [servers[k].port for k in ("greet", "close", "reset")]},
            {"host": "echo4.nltest", "ports": [tcp4, 80, 53]},
            {"host": "echo6.nltest", "ports": [tcp6, 80]},
            {"host": "both.nltest"},
            {"host": "localhost", "ports": [tcp4, tcp6]},
        ]})
        nl.start_daemon()
        exe = nl.patch(program, app)
        env = {
            "NLT_TCP4_PORT": tcp4,
            "NLT_TCP6_PORT": tcp6,
            "NLT_UDP4_PORT": servers["udp4"].port,
            "NLT_UDP6_PORT": servers["udp6"].port,
            "NLT_DENIED_PORT": servers["denied_tcp"].port,
            "NLT_DENIED_UDP_PORT": servers["denied_udp"].port,
            "NLT_REFUSED_PORT": refused,
            "NLT_DNS_PORT": dns,
            "NLT_BLACKHOLE_PORT": servers["blackhole"].port,
            "NLT_GREET_PORT": servers["greet"].port,
            "NLT_CLOSE_PORT": servers["close"].port,
            "NLT_RESET_PORT": servers["reset"].port,
        }
        SPECIAL.get(name, lambda nl_, s, e, v: run_program(nl_, e, v))(nl, servers, exe, env)
    print(f"PASS: {name}")


if __name__ == "__main__":
    main()
