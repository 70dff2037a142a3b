"""A real netleashd on a private socket, and clients for it.

The test driver runs in an ordinary python3: it starts the daemon and the
local servers, and speaks the protocol itself for hostile clients (which need
no identity). Well-formed clients run in a copy of python3 patched with
netleash-patch, whose /proc/PID/exe carries an identity record: run_client()
executes a snippet there and returns what it prints as JSON.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import netleash_wire as wire  # noqa: E402

NETLEASHD = os.environ["NETLEASHD"]
NETLEASH_PATCH = os.environ["NETLEASH_PATCH"]
STUB_SHIM = os.environ["NETLEASH_STUB_SHIM"]


def wait_for(condition, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("timed out waiting for " + what)


class Daemon:
    def __init__(self, workdir, policies, config=None):
        self.dir = workdir
        self.policy_dir = os.path.join(workdir, "policies")
        os.makedirs(self.policy_dir, exist_ok=True)
        for name, text in policies.items():
            self.write_policy(name, text)
        self.socket = os.path.join(workdir, "run", "netleashd.sock")
        self.audit_path = os.path.join(workdir, "audit.log")
        self.stderr_path = os.path.join(workdir, "daemon.err")
        self.config = None
        if config is not None:
            self.config = os.path.join(workdir, "config.json")
            with open(self.config, "w") as f:
                json.dump(config, f)
        self.proc = None

    def write_policy(self, name, text):
        with open(os.path.join(self.policy_dir, name), "w") as f:
            f.write(text if isinstance(text, str) else json.dumps(text))

    def start(self, expect_ready=True, fd_limit=None):
        args = [NETLEASHD, "--socket", self.socket, "--policy-dir", self.policy_dir,
                "--audit-log", self.audit_path]
        if self.config:
            args += ["--config", self.config]
        self.stderr = open(self.stderr_path, "a")
        # A restarted daemon appends to the same file: only what this start
        # writes counts as its "listening on".
        started_at = self.stderr.tell()
        limit = None
        if fd_limit is not None:
            import resource
            limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit))
        self.proc = subprocess.Popen(args, stderr=self.stderr, preexec_fn=limit)
        if expect_ready:
            wait_for(lambda: "listening on" in self.log()[started_at:] or self.proc.poll() is not None,
                     what="daemon start")
            assert self.proc.poll() is None, self.log()
        return self

    def log(self):
        with open(self.stderr_path) as f:
            return f.read()

    def audit(self):
        try:
            with open(self.audit_path) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def wait_audit(self, predicate, what="audit line"):
        return wait_for(lambda: [a for a in self.audit() if predicate(a)], what=what)

    def signal(self, signum):
        self.proc.send_signal(signum)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.stderr.close()
        return self.proc.returncode if self.proc else None

    def alive(self):
        return self.proc.poll() is None


class Env:
    """One test's world: temp dir, patched python, daemon, servers; all cleaned up."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="netleashd-test-")
        self.daemons = []
        self.closers = []
        self.python_for = {}

    def patched_python(self, app):
        if app not in self.python_for:
            out = os.path.join(self.tmp, "python-" + app)
            subprocess.run([NETLEASH_PATCH, "--app", app, "--shim", STUB_SHIM, "-o", out,
                            os.path.realpath(sys.executable)], check=True)
            self.python_for[app] = out
        return self.python_for[app]

    def daemon(self, policies, config=None, name="d"):
        d = Daemon(os.path.join(self.tmp, name), policies, config)
        self.daemons.append(d)
        return d

    def run_client(self, app, code, daemon, timeout=60, check=True):
        """Runs `code` in python patched as `app`; `P` is the socket path, `w`
        the wire module; returns the JSON the code prints last."""
        prelude = ("import sys, json, socket, os\nsys.path.insert(0, %r)\n"
                   "import netleash_wire as w\nP = %r\nw.join_tree(P)\n" % (os.path.dirname(HERE), daemon.socket))
        proc = subprocess.run([self.patched_python(app), "-c", prelude + code],
                              capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError("client failed: %s" % proc.stderr)
        lines = proc.stdout.strip().splitlines()
        return json.loads(lines[-1]) if lines else None

    def client_session(self, app, daemon):
        """A long-lived patched client: .run(code) executes `code` in it (state
        persists between calls) and returns the JSON it prints last."""
        session = ClientSession(self.patched_python(app), daemon.socket)
        self.closers.append(session.close)
        return session

    def tcp_server(self, handler, host="127.0.0.1"):
        """A local TCP server running `handler(conn)` per connection, each in a
        thread; closed with the environment. Returns its port."""
        srv = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        srv.bind((host, 0))
        srv.listen(128)
        self.closers.append(srv.close)

        def accept_loop():
            while True:
                try:
                    conn, _ = srv.accept()
                except OSError:
                    return
                threading.Thread(target=handler, args=(conn,), daemon=True).start()

        threading.Thread(target=accept_loop, daemon=True).start()
        return srv.getsockname()[1]

    def tcp_echo_server(self, host="127.0.0.1"):
        def echo(conn):
            with conn:
                while True:
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        return
                    if not data:
                        conn.shutdown(socket.SHUT_WR)
                        return
                    conn.sendall(data)

        return self.tcp_server(echo, host)

    def udp_echo_server(self, host="127.0.0.1"):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((host, 0))
        self.closers.append(s.close)

        def loop():
            while True:
                try:
                    data, peer = s.recvfrom(65536)
                    s.sendto(data, peer)
                except OSError:
                    return

        threading.Thread(target=loop, daemon=True).start()
        return s.getsockname()[1]

    def close(self):
        # Every daemon still running must stop cleanly on SIGTERM: exit 0 also
        # means no leak or error report from a sanitizer build.
        unclean = []
        for d in self.daemons:
            was_running = d.proc is not None and d.alive()
            status = d.stop()
            if was_running and status != 0:
                unclean.append("%s exited %s on SIGTERM:\n%s" % (d.dir, status, d.log()))
        for c in self.closers:
            c()
        shutil.rmtree(self.tmp, ignore_errors=True)
        assert not unclean, "\n".join(unclean)


SESSION_LOOP = r"""
import sys, json, socket, os
sys.path.insert(0, %r)
import netleash_wire as w
P = %r
w.join_tree(P)
scope = {"w": w, "P": P, "json": json, "socket": socket, "os": os}
for line in sys.stdin:
    try:
        exec(json.loads(line), scope)
    except Exception as e:
        print(json.dumps({"exception": repr(e)}))
    sys.stdout.flush()
"""


class ClientSession:
    def __init__(self, python, socket_path):
        self.proc = subprocess.Popen(
            [python, "-c", SESSION_LOOP % (os.path.dirname(HERE), socket_path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, code):
        self.proc.stdin.write(json.dumps(code) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "client session died"
        result = json.loads(line)
        if isinstance(result, dict) and "exception" in result:
            raise AssertionError("client: " + result["exception"])
        return result

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def policy(app, outbound, **extra):
    return dict({"app": app, "outbound": outbound}, **extra)


def run(tests):
    """Runs the test named on the command line (one process per test)."""
    name = sys.argv[1]
    env = Env()
    try:
        tests[name](env)
    except BaseException:
        for d in env.daemons:  # what the daemon said is usually the answer
            sys.stderr.write("--- %s:\n%s" % (d.stderr_path, d.log()))
        raise
    finally:
        env.close()
    print("ok", name)
