"""netleashd as netleashd.service runs it, without systemd: this script plays
the service manager (passes the two sockets of netleashd.socket as fds 3 and
4 with LISTEN_PID/LISTEN_FDS, listens on NOTIFY_SOCKET) and checks readiness,
reload and stop notifications, that the passed sockets are served and left in
place, that a socket unit disagreeing with --socket is refused, and that the
unit's capabilities are what identity needs when the daemon is not root.

usage: socket_activation.py NETLEASHD WIRE_HELPER_DIR
"""
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

NETLEASHD = sys.argv[1]
sys.path.insert(0, sys.argv[2])
import netleash_wire as wire  # noqa: E402
sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(os.path.abspath(__file__)), "../lib")))
from netleash_harness import world_readable_copy  # noqa: E402
from netleash_skip import skip  # noqa: E402

NOBODY = 65534
# The capabilities netleashd.service grants for identity (CAP_NET_BIND_SERVICE
# is for inbound ports and plays no part here).
IDENTITY_CAPS = "+sys_ptrace,+dac_read_search"


def linked_with_libsystemd():
    needed = subprocess.run(["readelf", "-d", NETLEASHD], capture_output=True, text=True).stdout
    return "libsystemd.so" in needed


class Manager:
    """One daemon started the way systemd starts netleashd.service."""

    def __init__(self, tmp, passed=("stream", "seqpacket"), run_as=()):
        self.tmp = tmp
        self.path = os.path.join(tmp, "run", "netleashd.sock")
        os.makedirs(os.path.dirname(self.path), mode=0o755, exist_ok=True)
        self.listeners = {}
        for kind, sock_type, path in (("stream", socket.SOCK_STREAM, self.path),
                                      ("seqpacket", socket.SOCK_SEQPACKET, self.path + ".dgram")):
            s = socket.socket(socket.AF_UNIX, sock_type)
            s.bind(path)
            s.listen()
            os.chmod(path, 0o666)  # SocketMode=0666
            self.listeners[kind] = s
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify_path = os.path.join(tmp, "notify")
        self.notify.bind(notify_path)
        os.chmod(notify_path, 0o666)
        self.notify.settimeout(20)
        self.audit_path = os.path.join(tmp, "audit.log")
        self.stderr_path = os.path.join(tmp, "stderr.log")
        # Another user runs a copy: the build directory may be out of its reach.
        netleashd = world_readable_copy(NETLEASHD, os.path.join(tmp, "bin")) if run_as else NETLEASHD
        argv = list(run_as) + [netleashd, "--socket", self.path,
                               "--policy-dir", os.path.join(tmp, "apps.d"),
                               "--audit-log", self.audit_path]
        fds = [self.listeners[kind].fileno() for kind in passed]
        stderr = open(self.stderr_path, "w")
        self.pid = os.fork()
        if self.pid == 0:
            try:
                moved = [os.dup(fd) for fd in fds]  # out of the way of 3, 4, ...
                for i, fd in enumerate(moved):
                    os.dup2(fd, 3 + i)
                os.dup2(stderr.fileno(), 2)
                env = dict(os.environ, LISTEN_PID=str(os.getpid()), LISTEN_FDS=str(len(fds)),
                           LISTEN_FDNAMES=":".join(passed), NOTIFY_SOCKET=notify_path)
                os.execve(argv[0], argv, env)  # exec keeps the pid LISTEN_PID names
            finally:
                os._exit(127)
        stderr.close()

    def expect(self, prefix):
        message = self.notify.recv(4096).decode()
        assert message.startswith(prefix), (prefix, message, self.stderr())
        return message

    def wait(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.02)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise AssertionError("netleashd did not exit")

    def audit(self):
        with open(self.audit_path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stderr(self):
        with open(self.stderr_path) as f:
            return f.read()

    def stop(self):
        os.kill(self.pid, signal.SIGTERM)
        self.expect("STOPPING=1")
        return self.wait()


def new_tmp():
    tmp = tempfile.mkdtemp(prefix="netleash-activation-")
    os.chmod(tmp, 0o755)  # reachable for a daemon running as nobody
    os.makedirs(os.path.join(tmp, "apps.d"))
    with open(os.path.join(tmp, "apps.d", "demo.json"), "w") as f:
        json.dump({"app": "demo", "outbound": [{"cidr": "127.0.0.1", "ports": [8080]}]}, f)
    return tmp


def activation_and_notifications(tmp):
    m = Manager(tmp)
    assert "STATUS=" in m.expect("READY=1")
    # Both passed sockets are served. This script carries no identity record,
    # so both answers are refusals, each audited.
    sock, verdict, _ = wire.tcp_connect(m.path, "127.0.0.1", 8080)
    sock.close()
    assert verdict == errno.EACCES, verdict
    assert wire.check(m.path, "127.0.0.1", 8080, wire.PROTO_TCP) == errno.EACCES
    os.kill(m.pid, signal.SIGHUP)
    reloading = m.expect("RELOADING=1")
    assert "MONOTONIC_USEC=" in reloading, reloading
    m.expect("READY=1")
    assert m.stop() == 0
    # The files belong to the socket unit: the daemon must not remove them.
    assert os.path.exists(m.path) and os.path.exists(m.path + ".dgram")
    verdicts = [(a["op"], a["verdict"]) for a in m.audit()]
    assert verdicts == [("connect", "deny")] * 2, verdicts


def socket_unit_mismatch(tmp):
    m = Manager(tmp, passed=("stream",))
    assert m.wait() == 1
    assert "no listening SOCK_SEQPACKET socket at " + m.path + ".dgram" in m.stderr(), m.stderr()


def identity_capabilities(tmp):
    """Daemon as nobody, client as root: /proc/PID/exe needs the unit's capabilities."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        skip("identity_capabilities needs root and setpriv")
    for caps, expected in ((IDENTITY_CAPS, "executable carries no identity record"),
                           ("-all", "Permission denied")):
        run_as = ["/usr/bin/setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                  "--clear-groups", "--inh-caps=" + caps, "--ambient-caps=" + caps]
        sub = tempfile.mkdtemp(dir=tmp)
        os.chmod(sub, 0o777)
        os.makedirs(os.path.join(sub, "apps.d"))
        m = Manager(sub, run_as=run_as)
        m.expect("READY=1")
        assert wire.check(m.path, "127.0.0.1", 8080, wire.PROTO_TCP) == errno.EACCES
        assert m.stop() == 0
        reasons = [a["reason"] for a in m.audit()]
        assert len(reasons) == 1 and expected in reasons[0], (caps, reasons)


def main():
    if not linked_with_libsystemd():
        skip("netleashd is not built with socket activation (src/netleashd/systemd_glue.cc "
             "not wired in yet)")
    for case in (activation_and_notifications, socket_unit_mismatch, identity_capabilities):
        tmp = new_tmp()
        try:
            case(tmp)
            print(case.__name__ + ": ok")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
