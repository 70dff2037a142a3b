#!/usr/bin/env python3
"""Learn mode and netleashctl suggest, against a real netleashd and a patched python3.

An app whose policy is only {"mode": "learn"} resolves two names and talks to
them, talks TCP and UDP to literal addresses, and serves TCP and UDP: everything is
allowed, each decision is audited "verdict": "allow", "learned": true with the
reason it would have been denied, and every line of the app says "mode": "learn".
`netleashctl status` shows the mode. `netleashctl suggest` turns the session
into a policy that `netleashd --check` accepts unchanged; loaded by a restarted
daemon, it allows the same workload again (no learned line, no denial) and
denies a destination the app never used. Who asks is still checked in learn
mode: a process its "users" pin refuses stays denied.
"""

import json
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash, free_port, wait_for  # noqa: E402

CTL = os.path.abspath(os.environ["NETLEASHCTL"])
APP = "learner"
NAMES = ("api.svc.test", "cdn.svc.test")

WORKLOAD = r"""
import socket, sys
host_a, host_b, tcp_port, tcp6_port, udp6_port, vport, uport = sys.argv[1:8]
def exchange(sock, address):
    sock.settimeout(10)
    sock.connect(address)
    sock.sendall(b"ping")
    assert sock.recv(4) == b"ping"
    sock.close()
for name in (host_a, host_b):
    family, kind, _, _, address = socket.getaddrinfo(name, int(tcp_port), socket.AF_INET, socket.SOCK_STREAM)[0]
    exchange(socket.socket(family, kind), address)
exchange(socket.socket(socket.AF_INET6), ("::1", int(tcp6_port)))
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.settimeout(10)
u.sendto(b"dgram", ("::1", int(udp6_port)))
assert u.recvfrom(100)[0] == b"dgram"
listener = socket.socket()
listener.bind(("127.0.0.1", int(vport)))
listener.listen()
print("listening", flush=True)
conn, _ = listener.accept()
conn.sendall(conn.recv(10))
conn.close()
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("127.0.0.1", int(uport)))
print("udp listening", flush=True)
data, peer = server.recvfrom(100)
server.sendto(data, peer)
print("done", flush=True)
"""

NEW_DESTINATION = r"""
import socket, sys
try:
    socket.create_connection(("::1", int(sys.argv[1])), timeout=10)
    print("connected")
except PermissionError:
    print("denied")
"""


def fail(message, *results):
    print(f"FAIL: {message}", file=sys.stderr)
    for r in results:
        print(f"  exit {r.returncode}\n  stdout: {r.stdout}\n  stderr: {r.stderr}", file=sys.stderr)
    sys.exit(1)


def ctl(nl, *args):
    return subprocess.run([CTL, "--socket", nl.socket_path, *args], capture_output=True, text=True, timeout=30)


def run_workload(nl, python, servers, vport, uport):
    tcp, tcp6, udp6 = servers
    proc = nl.spawn([python, "-c", WORKLOAD, *NAMES, str(tcp.port), str(tcp6.port), str(udp6.port), str(vport),
                     str(uport)])
    if proc.stdout.readline().strip() != "listening":
        proc.kill()
        fail("workload did not reach listen: " + proc.communicate(timeout=30)[1])
    # The peer reaches the address the daemon exposed (learn mode: the one the app bound).
    with socket.create_connection(("127.0.0.1", vport), timeout=10) as peer:
        peer.sendall(b"hello")
        if peer.recv(10) != b"hello":
            fail("no echo from the leashed listener")
    if proc.stdout.readline().strip() != "udp listening":
        proc.kill()
        fail("workload did not reach its UDP bind: " + proc.communicate(timeout=30)[1])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.settimeout(10)
        peer.sendto(b"datagram", ("127.0.0.1", uport))
        if peer.recvfrom(100)[0] != b"datagram":
            fail("no reply from the leashed UDP server")
    out, err = proc.communicate(timeout=30)
    if proc.returncode != 0 or out.strip() != "done":
        fail(f"workload failed ({proc.returncode}): {out} {err}")


def app_lines(nl):
    return [a for a in nl.audit_lines() if a.get("app") == APP]


def check_learned(nl, vport, uport):
    lines = app_lines(nl)
    decisions = [a for a in lines if a["op"] != "close"]
    ops = sorted({a["op"] for a in decisions})
    if ops != ["accept", "connect", "listen", "resolve", "sendto"]:
        fail(f"expected every kind of decision in learn mode, got {ops}: {decisions}")
    if any(a["verdict"] != "allow" for a in decisions):
        fail(f"learn mode denied something: {decisions}")
    learned = [a for a in decisions if a.get("learned") is True]
    if len(learned) != len(decisions):
        fail(f"every decision of a rule-less learn policy is learned: {decisions}")
    if any("learn mode, would deny: " not in a["reason"] for a in learned):
        fail(f"a learned line must keep the reason it would have been denied: {learned}")
    if any(a.get("mode") != "learn" for a in lines):
        fail(f"every line of a learn-mode app carries mode learn: {lines}")
    hosts = {a.get("host") for a in decisions if a["op"] == "connect"}
    if not set(NAMES) <= hosts:
        fail(f"connects to resolved names must carry the name: {decisions}")
    listens = sorted((a["protocol"], a["dst"]) for a in decisions if a["op"] == "listen")
    if listens != [("tcp", f"127.0.0.1:{vport}"), ("udp", f"127.0.0.1:{uport}")]:
        fail(f"a learned listen is exposed where the app bound: {decisions}")


def check_suggest(nl, tcp_port, tcp6_port, udp6_port, vport, uport):
    r = ctl(nl, "suggest", APP)
    if r.returncode != 0:
        fail("suggest", r)
    policy = json.loads(r.stdout)
    out = {(("host", rule["host"]) if "host" in rule else ("cidr", rule["cidr"])): rule for rule in policy["outbound"]}
    for name in NAMES:
        rule = out.get(("host", name))
        if rule is None or rule["ports"] != [tcp_port] or "protocol" in rule:
            fail(f"host rule for {name}: {policy}")
        if not rule["comment"].startswith("used 1 time (1 learned), first "):
            fail(f"per-rule comment: {rule}")
    udp = [r for r in policy["outbound"] if r.get("cidr") == "::1" and r.get("protocol") == "udp"]
    tcp = [r for r in policy["outbound"] if r.get("cidr") == "::1" and "protocol" not in r]
    if len(udp) != 1 or udp[0]["ports"] != [udp6_port] or len(tcp) != 1 or tcp[0]["ports"] != [tcp6_port]:
        fail(f"cidr rules for the literal addresses: {policy}")
    if "*.svc.test" not in policy["comment"]:
        fail(f"the wildcard must be offered as a choice: {policy['comment']}")
    if any(rule.get("host", "").startswith("*") for rule in policy["outbound"]):
        fail(f"a wildcard must not be applied silently: {policy}")
    inbound = [{k: v for k, v in rule.items() if k != "comment"} for rule in policy.get("inbound", [])]
    if inbound != [{"listen": f"127.0.0.1:{vport}", "expose": f"127.0.0.1:{vport}", "from": ["127.0.0.1"]},
                   {"listen": f"127.0.0.1:{uport}", "expose": f"127.0.0.1:{uport}", "from": ["127.0.0.1"],
                    "protocol": "udp"}]:
        fail(f"inbound rules: {policy}")
    if "mode" in policy:
        fail(f"a suggested policy enforces: {policy}")
    later = ctl(nl, "suggest", "--since", "2099-01-01", APP)
    if later.returncode != 0 or json.loads(later.stdout)["outbound"] != [] or "no connection" not in later.stderr:
        fail("suggest --since a future time: an empty policy and a warning", later)
    if ctl(nl, "suggest").returncode != 2:
        fail("suggest without APP is a usage error")
    return r.stdout


def check_identity_still_denied(nl, port):
    nl.write_policy("pinned", {"mode": "learn", "users": ["nobody"]})
    if ctl(nl, "reload").returncode != 0:
        fail("reload with the pinned learn policy")
    r = nl.run([nl.patch(os.path.realpath("/usr/bin/python3"), "pinned"), "-c", NEW_DESTINATION, str(port)],
               timeout=30)
    if r.stdout.strip() != "denied":
        fail("learn mode must not admit a runner its pins refuse", r)
    line = wait_for(lambda: next((a for a in nl.audit_lines() if a.get("app") == "pinned"), None), 10,
                    "the pinned app's audit line")
    if line["verdict"] != "deny" or line.get("learned") or "users" not in line["reason"]:
        fail(f"a pin refusal stays a denial in learn mode: {line}")
    os.unlink(os.path.join(nl.policy_dir, "pinned.json"))


def main():
    hosts = {name: ["127.0.0.1"] for name in NAMES}
    with Netleash(policies={APP: {"mode": "learn"}}, hosts=hosts) as nl:
        tcp = nl.start_tcp_echo_server()
        tcp6 = nl.start_tcp_echo_server(socket.AF_INET6)
        udp6 = nl.start_udp_echo_server(socket.AF_INET6)
        other6 = nl.start_tcp_echo_server(socket.AF_INET6)
        vport = free_port()
        uport = free_port(socket.AF_INET, socket.SOCK_DGRAM)
        python = nl.patch(os.path.realpath("/usr/bin/python3"), APP)
        run_workload(nl, python, (tcp, tcp6, udp6), vport, uport)
        check_learned(nl, vport, uport)

        check_identity_still_denied(nl, other6.port)

        status = json.loads(ctl(nl, "status", "--json").stdout)
        if status["apps"][APP]["mode"] != "learn":
            fail(f"status must show the mode: {status['apps']}")
        human = ctl(nl, "status")
        if not any(line.split()[:2] == [APP, "learn"] for line in human.stdout.splitlines()):
            fail("human status shows the mode", human)

        suggested = check_suggest(nl, tcp.port, tcp6.port, udp6.port, vport, uport)
        with open(os.path.join(nl.policy_dir, f"{APP}.json"), "w") as f:
            f.write(suggested)
        check = subprocess.run([nl.netleashd, "--check", "--policy-dir", nl.policy_dir],
                               capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            fail("netleashd --check must accept the suggested policy unchanged", check)

        nl.restart_daemon()
        before = len(app_lines(nl))
        run_workload(nl, python, (tcp, tcp6, udp6), vport, uport)
        again = [a for a in app_lines(nl)[before:] if a["op"] != "close"]
        if not again or any(a["verdict"] != "allow" or a.get("learned") or a.get("mode") for a in again):
            fail(f"the suggested policy must allow the same workload by its rules: {again}")
        r = nl.run([python, "-c", NEW_DESTINATION, str(other6.port)], timeout=30)
        if r.stdout.strip() != "denied":
            fail("the suggested policy must deny a destination the app never used", r)
        wait_for(lambda: any(a.get("dst") == f"[::1]:{other6.port}" and a["verdict"] == "deny"
                             for a in app_lines(nl)), 10, "the denial's audit line")
    print("ok")


if __name__ == "__main__":
    main()
