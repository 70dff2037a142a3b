#!/usr/bin/env python3
"""Runs one inbound test program (a patched C server) through a real netleashd.

usage: run_inbound_test.py NAME PROGRAM

The policy gives app "inbound-NAME" inbound rules for a virtual port picked
now (NLT_LISTEN_PORT, exposed on 127.0.0.1 port 0, peers 127.0.0.1 only), for
port-0 binds, and for [::] on NLT_LISTEN_PORT6. The program drives the test
with lines on its stdout; the runner answers on its stdin:

  listening     -> the real port, from the newest `listen` audit line
  connect N     -> N clients connect to the real port, each sends "<its port>\\n"
                   and must read exactly that line back, then EOF
  denied N      -> N clients bound to 127.0.0.2: each must be cut off unanswered
  cutoff N      -> N clients from 127.0.0.1 that must be cut off all the same
  closed        -> the real port must stop accepting; answers "closed"
  stop / start  -> stops / starts the daemon, answers "stopped" / "started"
  udp N         -> N datagrams from 127.0.0.1 to the real UDP port; each must come back
  udp-denied    -> one datagram from 127.0.0.2; waits for its audited deny
  narrow        -> reloads the policy with `from` 10.0.0.0/8 only (SIGHUP), answers "narrowed"
  bulk N BYTES  -> runs echo_clients (unpatched, NLT_ECHO_CLIENTS) against the
                   real port, answers "bulk-done" once it checked every byte
  done          -> the program exits 0 next
"""

import os
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash, free_port, wait_for  # noqa: E402


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


class Clients:
    """Client threads; every outcome is collected and checked at the end."""

    def __init__(self):
        self.threads = []
        self.errors = []
        self.lock = threading.Lock()

    def _error(self, message):
        with self.lock:
            self.errors.append(message)

    def _echo(self, port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                line = f"{s.getsockname()[1]}\n".encode()
                s.sendall(line)
                got = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
                if got != line:
                    self._error(f"client {line!r} got {got!r}")
        except OSError as e:
            self._error(f"client: {e}")

    def _denied(self, port, source="127.0.0.2"):
        try:
            with socket.socket() as s:
                s.settimeout(30)
                s.bind((source, 0))
                s.connect(("127.0.0.1", port))
                s.sendall(b"let me in\n")
                if s.recv(4096) != b"":
                    self._error("a denied peer got an answer")
        except (ConnectionResetError, BrokenPipeError):
            pass  # cut off: as expected
        except OSError as e:
            self._error(f"denied client: {e}")

    def start(self, target, port, n, *args):
        for _ in range(n):
            t = threading.Thread(target=target, args=(port, *args), daemon=True)
            t.start()
            self.threads.append(t)

    def join(self):
        for t in self.threads:
            t.join(60)
        return self.errors


def main():
    name, program = sys.argv[1], sys.argv[2]
    app = f"inbound-{name}"
    # The virtual port stays bound (not listening) here for the whole test:
    # a port that was merely free could be the very one the daemon then draws
    # for "expose 127.0.0.1:0", and the "nothing listens on the virtual port"
    # probe below would reach the daemon's real listener.
    virtual_port_holder = socket.socket()
    virtual_port_holder.bind(("127.0.0.1", 0))
    vport = virtual_port_holder.getsockname()[1]
    vport6 = free_port(socket.AF_INET6)
    policy = {"inbound": [
        {"listen": vport, "expose": "127.0.0.1:0", "from": ["127.0.0.1/32"]},
        {"listen": 0, "expose": "127.0.0.1:0", "from": ["127.0.0.1/32"]},
        {"listen": f"[::]:{vport6}", "expose": "127.0.0.1:0", "from": ["127.0.0.1/32"]},
        {"listen": vport, "expose": "127.0.0.1:0", "from": ["127.0.0.1/32"], "protocol": "udp"},
    ]}
    with Netleash(policies={app: policy}) as nl:
        exe = nl.patch(program, app)
        proc = nl.spawn([exe], env={"NLT_LISTEN_PORT": vport, "NLT_LISTEN_PORT6": vport6},
                        stdin=subprocess.PIPE, stderr=None)
        clients = Clients()
        listens_seen = 0
        real_port = None

        def answer(text):
            proc.stdin.write(text + "\n")
            proc.stdin.flush()

        for line in proc.stdout:
            command = line.split()
            if not command:
                continue
            if command[0] == "listening":
                def new_listen():
                    lines = [a for a in nl.audit_lines() if a["op"] == "listen" and a["verdict"] == "allow"]
                    return lines if len(lines) > listens_seen else None
                lines = wait_for(new_listen, 10, "a listen audit line")
                listens_seen = len(lines)
                real_port = int(lines[-1]["dst"].rsplit(":", 1)[1])
                # Nothing really listens on the virtual port.
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", vport)) == 0:
                        fail(f"something listens on the virtual port {vport}")
                answer(str(real_port))
            elif command[0] == "connect":
                clients.start(clients._echo, real_port, int(command[1]))
            elif command[0] == "denied":
                clients.start(clients._denied, real_port, int(command[1]))
            elif command[0] == "cutoff":
                clients.start(clients._denied, real_port, int(command[1]), "127.0.0.1")
            elif command[0] == "closed":
                def refused():
                    with socket.socket() as probe:
                        return probe.connect_ex(("127.0.0.1", real_port)) != 0
                wait_for(refused, 10, "the real listener to close")
                answer("closed")
            elif command[0] == "udp":
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                    client.settimeout(10)
                    for i in range(int(command[1])):
                        message = f"datagram {i}".encode()
                        client.sendto(message, ("127.0.0.1", real_port))
                        data, source = client.recvfrom(65536)
                        if data != message or source != ("127.0.0.1", real_port):
                            fail(f"UDP echo: {data!r} from {source}")
                answer("udp-ok")
            elif command[0] == "udp-denied":
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as outsider:
                    outsider.bind(("127.0.0.2", 0))
                    outsider.sendto(b"not me", ("127.0.0.1", real_port))
                    wait_for(lambda: any(a["op"] == "accept" and a["verdict"] == "deny" and
                                         a.get("src", "").startswith("127.0.0.2:") for a in nl.audit_lines()),
                             10, "the audited deny of the outside peer")
                answer("udp-denied-ok")
            elif command[0] == "narrow":
                def reloads():
                    with open(nl.daemon_log) as f:
                        return f.read().count("loaded ")
                before = reloads()
                for rule in policy["inbound"]:
                    rule["from"] = ["10.0.0.0/8"]
                nl.write_policy(app, policy)
                nl.reload()
                wait_for(lambda: reloads() > before, 10, "the reload")
                answer("narrowed")
            elif command[0] == "stop":
                if nl.stop_daemon() != 0:
                    fail("netleashd did not exit cleanly on SIGTERM")
                answer("stopped")
            elif command[0] == "start":
                nl.start_daemon()
                answer("started")
            elif command[0] == "bulk":
                result = subprocess.run([os.environ["NLT_ECHO_CLIENTS"], str(real_port), command[1], command[2]],
                                        capture_output=True, text=True, timeout=300)
                print(result.stdout + result.stderr, end="")
                if result.returncode != 0:
                    fail("echo_clients failed")
                answer("bulk-done")
            elif command[0] == "done":
                break
            else:
                print(line, end="")
        code = proc.wait(120)
        errors = clients.join()
        for e in errors:
            print(f"FAIL: {e}", file=sys.stderr)
        if code != 0:
            fail(f"{name} exited with {code}")
        if errors:
            sys.exit(1)
        audit = nl.audit_lines()
        if nl.stop_daemon() != 0:  # a clean exit: every listener and connection closed (sanitizer builds too)
            fail("netleashd did not exit cleanly on SIGTERM")
        if name == "accept_blocking":
            if not any(a["op"] == "accept" and a["verdict"] == "deny" and a.get("src", "").startswith("127.0.0.2:")
                       for a in audit):
                fail("no audited accept deny for the peer outside `from`")
        if name == "no_rule":
            if not any(a["op"] == "listen" and a["verdict"] == "deny" for a in audit):
                fail("no audited listen deny")
            if any(a["op"] == "listen" and a.get("protocol") == "udp" for a in audit):
                fail("a UDP client's bind was judged as a listen")
        print(f"{name}: ok")


if __name__ == "__main__":
    main()
