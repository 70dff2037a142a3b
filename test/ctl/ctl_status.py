#!/usr/bin/env python3
"""netleashctl against a real netleashd with patched python3 apps.

A known workload (app ctl-client: two allowed connections moving known byte
counts, one of them still open (its bytes count too), and one denied connect; app ctl-server: one
inbound listener) must show up exactly in `netleashctl status --json`.
Then: `reload` with a broken policy reports FILE:LINE:COL and keeps the old
set, `check` validates without applying, and a non-root caller is refused
(by the socket's mode, and by SO_PEERCRED when the mode is opened up).
"""

import json
import os
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash, free_port, wait_for, world_readable_copy  # noqa: E402

CTL = os.path.abspath(os.environ["NETLEASHCTL"])
PAYLOAD_OPEN, PAYLOAD_CLOSED = 1000, 3000

CLIENT = r"""
import socket, sys
echo, denied = int(sys.argv[1]), int(sys.argv[2])
def exchange(size):
    s = socket.create_connection(("127.0.0.1", echo))
    s.sendall(b"x" * size)
    got = 0
    while got < size:
        got += len(s.recv(65536))
    return s
kept = exchange(%d)
exchange(%d).close()
try:
    socket.create_connection(("127.0.0.1", denied), timeout=5)
    print("denied connect succeeded", flush=True)
except OSError:
    print("ready", flush=True)
sys.stdin.readline()
kept.close()
""" % (PAYLOAD_OPEN, PAYLOAD_CLOSED)

SERVER = r"""
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
print("listening", flush=True)
sys.stdin.readline()
"""


def fail(message, *results):
    print(f"FAIL: {message}", file=sys.stderr)
    for r in results:
        print(f"  exit {r.returncode}\n  stdout: {r.stdout}\n  stderr: {r.stderr}", file=sys.stderr)
    sys.exit(1)


def ctl(nl, *args, prefix=(), program=CTL):
    return subprocess.run([*prefix, program, "--socket", nl.socket_path, *args],
                          capture_output=True, text=True, timeout=30)


def status(nl):
    r = ctl(nl, "status", "--json")
    if r.returncode != 0:
        fail("status --json failed", r)
    return json.loads(r.stdout)


def check_workload(nl, echo):
    denied = free_port()
    vport = free_port()
    nl.write_policy("ctl-client", {"outbound": [{"cidr": "127.0.0.1", "ports": [echo.port], "protocol": "tcp"}]})
    nl.write_policy("ctl-server", {"inbound": [{"listen": vport, "expose": "127.0.0.1:0", "from": ["127.0.0.1/32"]}]})
    reload = ctl(nl, "reload")
    if reload.returncode != 0 or "ok, 2 policies" not in reload.stdout:
        fail("reload of two valid policies", reload)

    python = os.path.realpath("/usr/bin/python3")
    client = nl.spawn([nl.patch(python, "ctl-client"), "-c", CLIENT, str(echo.port), str(denied)],
                      stdin=subprocess.PIPE)
    server = nl.spawn([nl.patch(python, "ctl-server"), "-c", SERVER, str(vport)], stdin=subprocess.PIPE)
    if client.stdout.readline().strip() != "ready":
        fail("client workload: " + client.stderr.read())
    if server.stdout.readline().strip() != "listening":
        fail("server workload: " + server.stderr.read())
    listen = wait_for(lambda: next((a for a in nl.audit_lines() if a["op"] == "listen" and a["verdict"] == "allow"),
                                   None), 10, "the listen audit line")

    # The client closed its second connection before saying "ready"; the daemon sees that EOF
    # a moment later, so wait for the close record rather than race it.
    def one_left_open():
        s = status(nl)
        return s if s["apps"].get("ctl-client", {}).get("open", {}).get("outbound_tcp") == 1 else None
    s = wait_for(one_left_open, 10, "the closed connection's close record")
    d = s["daemon"]
    if d["policies"] != 2 or d["socket"] != nl.socket_path or d["pid"] != nl.daemon.pid:
        fail(f"daemon facts: {d}")
    c = s["apps"]["ctl-client"]
    if (c["allows"], c["denies"]) != (2, 1):
        fail(f"client decisions: {c}")
    if c["open"] != {"outbound_tcp": 1, "inbound_tcp": 0, "udp": 0}:
        fail(f"client open connections with one kept open: {c}")
    # Bytes of the closed connection plus those the open one has moved so far.
    total = PAYLOAD_OPEN + PAYLOAD_CLOSED
    if (c["bytes_sent"], c["bytes_received"]) != (total, total):
        fail(f"client bytes with one connection closed and one open: {c}, expected {total} each way")
    srv = s["apps"]["ctl-server"]
    if (srv["allows"], srv["denies"]) != (1, 0) or len(srv["listeners"]) != 1:
        fail(f"server: {srv}")
    listener = srv["listeners"][0]
    if listener["exposed"] != listen["dst"] or not listener["listen"].endswith(f":{vport}"):
        fail(f"listener {listener} vs audit {listen}")

    human = ctl(nl, "status")
    if human.returncode != 0 or "ctl-client" not in human.stdout or listen["dst"] not in human.stdout:
        fail("human status", human)

    client.communicate("\n", timeout=30)
    server.communicate("\n", timeout=30)

    def closed():
        a = status(nl)["apps"]
        return a["ctl-client"]["open"]["outbound_tcp"] == 0 and not a["ctl-server"]["listeners"] and a
    apps = wait_for(closed, 10, "connections and listener closed")
    c = apps["ctl-client"]
    if c["bytes_sent"] < PAYLOAD_OPEN + PAYLOAD_CLOSED or c["bytes_received"] < PAYLOAD_OPEN + PAYLOAD_CLOSED:
        fail(f"client bytes after both closed: {c}")
    if (c["allows"], c["denies"]) != (2, 1):
        fail(f"client decisions after the end: {c}")


def check_reload_and_check(nl):
    broken = os.path.join(nl.policy_dir, "broken.json")
    with open(broken, "w") as f:
        f.write('{"app": "broken",\n  "outbound": [}\n')
    for cmd in ("check", "reload"):
        r = ctl(nl, cmd)
        if r.returncode != 1 or f"{broken}:2:" not in r.stderr:
            fail(f"{cmd} with a broken policy must fail with FILE:LINE:COL", r)
    s = status(nl)
    if s["daemon"]["policies"] != 2 or s["daemon"]["last_reload"]["ok"] is not False:
        fail(f"the old set must stay after a failed reload: {s['daemon']}")
    os.unlink(broken)
    r = ctl(nl, "check")
    if r.returncode != 0 or "ok, 2 policies" not in r.stdout:
        fail("check of a valid directory", r)


def check_non_root_refused(nl, copy):
    nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
    r = ctl(nl, "status", prefix=nobody, program=copy)
    if r.returncode != 1 or "cannot connect to" not in r.stderr:
        fail("non-root caller must be refused by the socket's mode", r)
    # Even with the file opened up, SO_PEERCRED keeps it root-only.
    os.chmod(nl.dir, 0o755)
    os.chmod(nl.socket_path + ".ctl", 0o666)
    r = ctl(nl, "status", prefix=nobody, program=copy)
    if r.returncode != 1 or "root-only" not in r.stderr:
        fail("non-root caller must be refused by SO_PEERCRED", r)


def main():
    with Netleash() as nl:
        r = subprocess.run([CTL, "--socket", nl.dir + "/absent.sock", "status"], capture_output=True, text=True)
        if r.returncode != 1 or f"cannot connect to {nl.dir}/absent.sock.ctl: No such file or directory" not in r.stderr:
            fail("daemon not running", r)
        if os.stat(nl.socket_path + ".ctl").st_mode & 0o777 != 0o600:
            fail("control socket mode is not 0600")
        check_workload(nl, nl.start_tcp_echo_server())
        check_reload_and_check(nl)
        # nobody runs a copy outside nl.dir, which stays private until the check opens it.
        with tempfile.TemporaryDirectory(prefix="netleashctl-for-nobody-") as bin_dir:
            check_non_root_refused(nl, world_readable_copy(CTL, bin_dir))
        nl.stop_daemon()
        if os.path.exists(nl.socket_path + ".ctl"):
            fail("the control socket outlived the daemon")
    print("ok")


if __name__ == "__main__":
    main()
