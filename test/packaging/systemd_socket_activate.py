#!/usr/bin/env python3
"""netleashd socket-activated by systemd's own tool, as the packaged units run it.

systemd-socket-activate creates the three sockets of netleashd.socket and
netleashd-control.socket (as root, in a root-owned 0755 directory, the control
socket 0600) and starts netleashd on the first connection; the daemon runs as
an unprivileged user with only the unit's identity capabilities, as under
DynamicUser=yes, so it could not have created any of those files itself.
(The tool takes one socket type per invocation, so two are nested: the outer
one passes the stream sockets on to the inner one, which adds the seqpacket
socket, as it does with any fds it inherits.)

Checks: a patched curl started before the daemon exists waits in the backlog
and reaches an allowed HTTP server; a denied port is refused with the audit
line; `netleashctl status --json` (root) answers through the passed control
socket and counts both; SIGTERM stops the daemon and the socket files stay.
"""
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.environ["NETLEASH_TEST_LIB"])
from netleash_harness import wait_for, world_readable_copy  # noqa: E402
from netleash_skip import skip  # noqa: E402

NETLEASHD = os.environ["NETLEASHD"]
PATCH = os.environ["NETLEASH_PATCH"]
SHIM = os.environ["NETLEASH_SHIM"]
CTL = os.environ["NETLEASHCTL"]
NOBODY = 65534
IDENTITY_CAPS = "+sys_ptrace,+dac_read_search"  # netleashd.service's, for /proc/PID/exe


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello through netleashd\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def fail(message, *details):
    print("FAIL: " + message, file=sys.stderr)
    for d in details:
        print(d, file=sys.stderr)
    sys.exit(1)


def main():
    for tool in ("systemd-socket-activate", "setpriv", "curl"):
        if shutil.which(tool) is None:
            skip(f"{tool} not found")
    if os.geteuid() != 0:
        skip("needs root (the sockets are root's, the daemon drops to nobody)")
    tmp = tempfile.mkdtemp(prefix="netleash-sd-activate-")
    os.chmod(tmp, 0o755)
    allowed, denied = serve(), serve()
    daemon = None
    try:
        run = os.path.join(tmp, "run")
        os.mkdir(run, 0o755)  # root-owned: nobody cannot create files here
        apps = os.path.join(tmp, "apps.d")
        os.mkdir(apps)
        with open(os.path.join(apps, "demo.json"), "w") as f:
            json.dump({"app": "demo", "outbound": [{"cidr": "127.0.0.1", "ports": [allowed.server_port]}]}, f)
        audit = os.path.join(tmp, "audit.log")
        fd = os.open(audit, os.O_WRONLY | os.O_CREAT, 0o644)
        os.fchown(fd, NOBODY, NOBODY)
        os.close(fd)
        curl = os.path.join(tmp, "curl")
        subprocess.run([PATCH, "--app", "demo", "--shim", SHIM, "-o", curl, "/usr/bin/curl"], check=True)
        sock = os.path.join(run, "netleashd.sock")
        daemon = subprocess.Popen(
            ["systemd-socket-activate", "-l", sock, "-l", sock + ".ctl",
             "systemd-socket-activate", "--seqpacket", "-l", sock + ".dgram",
             "setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
             "--inh-caps=" + IDENTITY_CAPS, "--ambient-caps=" + IDENTITY_CAPS,
             # nobody runs a copy: the build directory may be out of its reach.
             world_readable_copy(NETLEASHD, os.path.join(tmp, "bin")),
             "--socket", sock, "--policy-dir", apps, "--audit-log", audit],
            stderr=subprocess.PIPE, text=True)
        wait_for(lambda: all(os.path.exists(sock + s) for s in ("", ".ctl")), what="the sockets")
        # SocketMode= of the two units (the tool has no such option); the
        # daemon does not run yet: it starts on the first connection.
        os.chmod(sock, 0o666)
        os.chmod(sock + ".ctl", 0o600)
        if os.stat(run).st_uid != 0 or os.stat(sock + ".ctl").st_uid != 0:
            fail("the socket directory and the control socket must be root's")
        env = dict(os.environ, NETLEASH_SOCKET=sock)
        # The first client starts the daemon and waits in the backlog meanwhile.
        ok = subprocess.run([curl, "-sS", "--max-time", "30", f"http://127.0.0.1:{allowed.server_port}/"],
                            env=env, capture_output=True, text=True, timeout=60)
        if ok.returncode != 0 or ok.stdout != "hello through netleashd\n":
            fail("allowed request", ok.stdout, ok.stderr)
        refused = subprocess.run([curl, "-sS", f"http://127.0.0.1:{denied.server_port}/"],
                                 env=env, capture_output=True, text=True, timeout=60)
        if refused.returncode != 7:  # curl: failed to connect
            fail("denied request was not refused", refused.stdout, refused.stderr)

        def audited():
            with open(audit) as f:
                lines = [json.loads(line) for line in f if line.strip()]
            verdicts = sorted((a["op"], a["verdict"]) for a in lines if a["op"] == "connect")
            return lines if verdicts == [("connect", "allow"), ("connect", "deny")] else None
        wait_for(audited, what="an allow and a deny in the audit log")
        status = subprocess.run([CTL, "--socket", sock, "status", "--json"], capture_output=True,
                                text=True, timeout=30)
        if status.returncode != 0:
            fail("netleashctl status through the passed control socket", status.stdout, status.stderr)
        demo = json.loads(status.stdout)["apps"].get("demo")
        if demo is None or demo["allows"] != 1 or demo["denies"] != 1:
            fail("status does not count the workload", status.stdout)
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=30)
        if daemon.returncode != 0:
            fail(f"netleashd exited {daemon.returncode}", err)
        if "no control socket" in err:
            fail("the daemon did not use the passed control socket", err)
        if not all(os.path.exists(sock + s) for s in ("", ".dgram", ".ctl")):
            fail("the daemon removed sockets that belong to the service manager")
        print("socket-activated by systemd-socket-activate as nobody: allowed, denied, status, stop: ok")
        return 0
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        allowed.shutdown()
        denied.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
