#!/usr/bin/env python3
"""netleashctl log against a real netleashd's audit log and patched python3 apps.

Filters (--app, --deny, --since), readable lines without colour when stdout is
not a terminal, --json as the lines were written, the daemon's own audit-log
path or --file; --follow shows a line appended after it started, keeps going
across a rotation (rename + SIGHUP), ends with status 0 on SIGINT, and quietly
when its reader goes away (SIGPIPE).
"""

import json
import os
import pty
import selectors
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash, free_port, wait_for  # noqa: E402

CTL = os.path.abspath(os.environ["NETLEASHCTL"])

CONNECT = r"""
import socket, sys
for port in sys.argv[1:]:
    try:
        socket.create_connection(("127.0.0.1", int(port)), timeout=10).close()
        print("allowed")
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


class LineReader:
    """Lines of a running process's stdout, each waited for with a deadline."""

    def __init__(self, proc):
        self.proc = proc
        self.buffer = b""
        self.selector = selectors.DefaultSelector()
        self.selector.register(proc.stdout, selectors.EVENT_READ)

    def line(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                fail(f"no line from netleashctl log --follow within {timeout}s (have {self.buffer!r})")
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                fail(f"netleashctl log --follow ended early: {self.proc.wait()} {self.proc.stderr.read()}")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)


def check_filters(nl, echo_port, denied_port):
    lines = nl.audit_lines()
    r = ctl(nl, "log")
    if r.returncode != 0 or len(r.stdout.splitlines()) != len(lines) or "\033" in r.stdout:
        fail(f"log prints one line per record ({len(lines)}), no colour into a pipe", r)
    if f"logger  connect  127.0.0.1:{echo_port}  allow  " not in r.stdout:
        fail("readable line: time, app, op, destination, verdict, reason", r)
    # On a terminal the verdict is coloured (a few lines: they fit in the pty until read).
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.run([CTL, "--socket", nl.socket_path, "log", "--app", "logger"], stdout=terminal,
                              stderr=subprocess.PIPE, timeout=30, env={k: v for k, v in os.environ.items()
                                                                          if k != "NO_COLOR"})
        os.close(terminal)
        terminal = None
        shown = b""
        while True:  # netleashctl has exited: read what it left on the terminal
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if terminal is not None:
            os.close(terminal)
        os.close(controller)
    if proc.returncode != 0 or b"\033[32mallow\033[0m" not in shown or b"\033[31mdeny\033[0m" not in shown:
        fail(f"log on a terminal colours the verdicts: {shown!r}")
    r = ctl(nl, "log", "--app", "logger", "--deny")
    if r.returncode != 0 or len(r.stdout.splitlines()) != 1 or f"127.0.0.1:{denied_port}  deny" not in r.stdout:
        fail("log --app logger --deny: exactly its one denial", r)
    r = ctl(nl, "log", "--json", "--app", "other", "--file", nl.audit_path)
    with open(nl.audit_path) as f:
        raw = [line for line in f.read().splitlines() if json.loads(line).get("app") == "other"]
    if r.returncode != 0 or r.stdout.splitlines() != raw or not raw:
        fail("log --json --app other: the app's lines as written", r)
    if ctl(nl, "log", "--since", "1d").stdout != ctl(nl, "log").stdout:
        fail("log --since 1d: everything of the last day")
    r = ctl(nl, "log", "--since", "2099-01-01T00:00:00Z")
    if r.returncode != 0 or r.stdout:
        fail("log --since a future time: nothing", r)
    for bad in (["--since", "yesterday"], ["--bogus"]):
        r = ctl(nl, "log", *bad)
        if r.returncode != 2:
            fail(f"usage error {bad}", r)


def check_follow(nl, run, echo_port):
    proc = subprocess.Popen([CTL, "--socket", nl.socket_path, "log", "--follow", "--json", "--app", "logger"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        reader = LineReader(proc)
        existing = [a for a in nl.audit_lines() if a.get("app") == "logger"]
        for _ in existing:
            reader.line()
        run("logger", echo_port)
        if reader.line().get("op") != "connect":
            fail("a line appended after --follow started must show up")
        reader.line()  # its close line
        # logrotate: the file is renamed, the daemon reopens its path on SIGHUP.
        os.rename(nl.audit_path, nl.audit_path + ".1")
        nl.reload()
        wait_for(lambda: os.path.exists(nl.audit_path), 10, "the audit log reopened at its path")
        run("logger", echo_port)
        record = reader.line()
        if record.get("op") != "connect" or record.get("app") != "logger":
            fail(f"--follow must go on in the new file after a rotation: {record}")
        proc.send_signal(signal.SIGINT)
        if proc.wait(timeout=10) != 0:
            fail(f"--follow must stop cleanly on SIGINT: {proc.returncode} {proc.stderr.read()}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()

    # A reader that goes away (| head -1) ends it with status 0 and no complaint.
    proc = subprocess.Popen([CTL, "--socket", nl.socket_path, "log", "--follow", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        LineReader(proc).line()
        proc.stdout.close()
        run("logger", echo_port)
        if proc.wait(timeout=10) != 0:
            fail(f"--follow whose reader is gone must end with 0: {proc.returncode}")
        if proc.stderr.read():
            fail("--follow whose reader is gone must not complain")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def main():
    denied_port = free_port()
    with Netleash() as nl:
        echo = nl.start_tcp_echo_server()
        nl.write_policy("logger", {"outbound": [{"cidr": "127.0.0.1", "ports": [echo.port]}]})
        nl.write_policy("other", {})
        nl.restart_daemon()
        python = os.path.realpath("/usr/bin/python3")
        patched = {app: nl.patch(python, app) for app in ("logger", "other")}

        def run(app, *ports):
            r = nl.run([patched[app], "-c", CONNECT, *map(str, ports)], timeout=30)
            if r.returncode != 0:
                fail(f"{app} workload", r)
            return r.stdout.split()

        if run("logger", echo.port, denied_port) != ["allowed", "denied"] or run("other", echo.port) != ["denied"]:
            fail("workload verdicts")
        wait_for(lambda: any(a["op"] == "close" for a in nl.audit_lines()), 10, "the close line")
        check_filters(nl, echo.port, denied_port)
        check_follow(nl, run, echo.port)
    print("ok")


if __name__ == "__main__":
    main()
