"""Test harness: a real netleashd on a private socket, patched programs, local servers.

Reusable by every integration test in the project (python3 standard library only):

    with Netleash(policies={"demo": {"outbound": [...]}}) as nl:
        echo = nl.start_tcp_echo_server()
        exe = nl.patch("/usr/bin/curl", "demo")
        result = nl.run([exe, f"http://127.0.0.1:{echo.port}/"])
        assert any(line["verdict"] == "allow" for line in nl.audit_lines())

Paths of the built tools come from the environment (meson sets them):
NETLEASHD, NETLEASH_PATCH, NETLEASH_SHIM. Set NETLEASH_KEEP_TMP=1 to keep the
private directory (its path is printed) for debugging.
"""

import functools
import http.server
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time


def _tool(name):
    path = os.environ.get(name)
    if not path:
        raise RuntimeError(f"{name} is not set (the meson test definition sets it)")
    return os.path.abspath(path)


def expect(cond, message, result=None):
    """Fails the test (exit 1) with MESSAGE, and RESULT's exit status and output when given."""
    if not cond:
        if result is not None:
            message += f"\nexit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
        print(f"FAIL: {message}", file=sys.stderr)
        sys.exit(1)


def wait_for(condition, timeout=10.0, what="condition"):
    """Polls condition() until it returns something truthy, or raises after timeout seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def world_readable_copy(path, directory):
    """A copy of the built program or library `path` in `directory` (made
    mode 0755) that a process of another user (nobody) can run or load. The
    build directory is out of its reach when the checkout lives under /root
    (mode 0700), and a test must not depend on where the checkout lives."""
    os.makedirs(directory, exist_ok=True)
    os.chmod(directory, 0o755)
    copy = os.path.join(directory, os.path.basename(path))
    shutil.copy2(path, copy)
    os.chmod(copy, 0o755)
    return copy


def free_port(family=socket.AF_INET, kind=socket.SOCK_STREAM):
    """A loopback port nothing listens on right now (connecting to it is refused)."""
    host = "127.0.0.1" if family == socket.AF_INET else "::1"
    with socket.socket(family, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class _Server:
    """Base for the in-process echo servers: a thread per listener, stopped on close()."""

    def __init__(self, family, kind):
        self.family = family
        self.host = "127.0.0.1" if family == socket.AF_INET else "::1"
        self.sock = socket.socket(family, kind)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.host, 0))
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self._stopped = False
        self._threads = []

    def _spawn(self, target, *args):
        t = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(t)
        t.start()

    def _accept_each(self, handle):
        """Accept loop (run it with _spawn): handle(conn) for every connection."""
        while not self._stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            handle(conn)

    @property
    def address(self):
        return (self.host, self.port)

    def close(self):
        self._stopped = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for t in self._threads:
            t.join(timeout=2)


class TcpEchoServer(_Server):
    """Echoes every byte back; counts connections and bytes; closes after the client's EOF."""

    def __init__(self, family=socket.AF_INET):
        super().__init__(family, socket.SOCK_STREAM)
        self.connections = 0
        self.bytes = 0
        self._clients = []
        self.sock.listen(1024)
        self._spawn(self._accept_each, self._accepted)

    def _accepted(self, conn):
        with self.lock:
            self.connections += 1
            self._clients.append(conn)
        self._spawn(self._serve, conn)

    def _serve(self, conn):
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                with self.lock:
                    self.bytes += len(data)
                conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        with self.lock:
            clients = list(self._clients)
        for c in clients:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        super().close()


class UdpEchoServer(_Server):
    """Sends each datagram back to its source; records (payload, source) of every datagram."""

    def __init__(self, family=socket.AF_INET):
        super().__init__(family, socket.SOCK_DGRAM)
        self.datagrams = []
        self._spawn(self._loop)

    def _loop(self):
        while not self._stopped:
            try:
                data, peer = self.sock.recvfrom(65536)
            except OSError:
                return
            if peer is None:  # close() shut the socket down: recvfrom woke with no datagram
                return
            with self.lock:
                self.datagrams.append((data, peer))
            try:
                self.sock.sendto(data, peer)
            except OSError:
                pass


class TcpOneShotServer(_Server):
    """Answers every connection the same way at once, without reading: sends
    `greeting` and closes (a server that speaks first; an empty greeting is a
    plain close), or with reset=True closes with an RST (SO_LINGER 0)."""

    def __init__(self, family=socket.AF_INET, greeting=b"", reset=False):
        super().__init__(family, socket.SOCK_STREAM)
        self.greeting = greeting
        self.reset = reset
        self.sock.listen(128)
        self._spawn(self._accept_each, self._answer)

    def _answer(self, conn):
        try:
            if self.reset:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif self.greeting:
                conn.sendall(self.greeting)
        except OSError:
            pass
        conn.close()


class BlackholeServer(_Server):
    """A TCP port where connects hang: its one-slot accept queue is kept full and
    never accepted, so further SYNs are dropped until the connector times out."""

    def __init__(self, family=socket.AF_INET):
        super().__init__(family, socket.SOCK_STREAM)
        self.sock.listen(0)
        self._fillers = []
        for _ in range(3):
            c = socket.socket(family, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(self.address)
            except BlockingIOError:
                pass
            self._fillers.append(c)

    def close(self):
        for c in self._fillers:
            c.close()
        super().close()


class HttpServer:
    """A static HTTP server on an ephemeral loopback port serving `root`."""

    def __init__(self, root):
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
        handler.log_message = lambda *args: None
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Netleash:
    """A private netleashd with its own policy dir, socket and audit log.

    policies: {app_id: policy dict without "app"} written as DIR/<app>.json.
    config: optional daemon config dict (--config). hosts: optional
    {name: [addresses]} served to the daemon's resolver as its hosts file (the
    resolver is pointed at a dead local server so tests never use real DNS).
    """

    def __init__(self, policies=None, config=None, hosts=None, start=True):
        self.netleashd = _tool("NETLEASHD")
        self.patcher = _tool("NETLEASH_PATCH")
        self.shim = _tool("NETLEASH_SHIM")
        self._policies = dict(policies or {})
        self._config = config
        self._hosts = hosts
        self._start = start
        self.daemon = None
        self._servers = []
        self._processes = []

    # --- lifecycle -----------------------------------------------------------------
    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="netleash-test-")
        self.policy_dir = os.path.join(self.dir, "policies")
        self.bin_dir = os.path.join(self.dir, "bin")
        os.makedirs(self.policy_dir)
        os.makedirs(self.bin_dir)
        self.socket_path = os.path.join(self.dir, "netleashd.sock")
        self.audit_path = os.path.join(self.dir, "audit.log")
        self.daemon_log = os.path.join(self.dir, "netleashd.log")
        self.config_path = None
        for app, policy in self._policies.items():
            self.write_policy(app, policy)
        self._write_config()
        if self._start:
            self.start_daemon()
        return self

    def __exit__(self, *exc):
        for proc in self._processes:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        for server in self._servers:
            server.close()
        self.stop_daemon()
        if os.environ.get("NETLEASH_KEEP_TMP") == "1" or exc[0] is not None:
            if exc[0] is not None:
                self.dump_logs()
            print(f"netleash harness: kept {self.dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def _write_config(self):
        config = dict(self._config or {})
        if self._hosts is not None:
            hosts_path = os.path.join(self.dir, "hosts")
            with open(hosts_path, "w") as f:
                for name, addrs in self._hosts.items():
                    for addr in addrs:
                        f.write(f"{addr} {name}\n")
            resolver = dict(config.get("resolver", {}))
            resolver.setdefault("hosts_file", hosts_path)
            # A loopback port nothing answers on: names outside the hosts file
            # fail instead of leaking to real DNS.
            resolver.setdefault("servers", [f"127.0.0.1:{free_port(socket.AF_INET, socket.SOCK_DGRAM)}"])
            resolver.setdefault("timeout_ms", 200)
            resolver.setdefault("tries", 1)
            config["resolver"] = resolver
        if config:
            self.config_path = os.path.join(self.dir, "netleashd.json")
            with open(self.config_path, "w") as f:
                json.dump(config, f, indent=2)

    def configure(self, config):
        """Replaces the daemon config (before start_daemon), for a config that needs servers
        started inside the harness (their ports)."""
        self._config = config
        self._write_config()

    def write_policy(self, app, policy):
        """Writes (or replaces) DIR/<app>.json; call reload() for a running daemon."""
        body = {"app": app}
        body.update(policy)
        path = os.path.join(self.policy_dir, f"{app}.json")
        with open(path, "w") as f:
            json.dump(body, f, indent=2)
        return path

    def start_daemon(self, timeout=10.0):
        """Starts netleashd and waits until both of its sockets accept connections."""
        cmd = [self.netleashd, "--socket", self.socket_path, "--policy-dir", self.policy_dir,
               "--audit-log", self.audit_path]
        if self.config_path:
            cmd += ["--config", self.config_path]
        log = open(self.daemon_log, "ab")
        self.daemon = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()

        def ready():
            if self.daemon.poll() is not None:
                self.dump_logs()
                raise RuntimeError(f"netleashd exited with {self.daemon.returncode} during startup")
            for path, kind in ((self.socket_path, socket.SOCK_STREAM),
                               (self.socket_path + ".dgram", socket.SOCK_SEQPACKET)):
                with socket.socket(socket.AF_UNIX, kind) as s:
                    try:
                        s.connect(path)
                    except OSError:
                        return False
            return True

        wait_for(ready, timeout, "netleashd sockets")
        return self.daemon

    def stop_daemon(self, timeout=10.0):
        """SIGTERM, then SIGKILL after timeout; reaps the process."""
        if self.daemon is None:
            return None
        if self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(timeout)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        code = self.daemon.returncode
        self.daemon = None
        return code

    def restart_daemon(self):
        self.stop_daemon()
        return self.start_daemon()

    def reload(self):
        """SIGHUP: the daemon rereads the policy directory."""
        self.daemon.send_signal(signal.SIGHUP)

    def dump_logs(self):
        for path in (self.daemon_log, self.audit_path):
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    content = f.read()
                sys.stderr.write(f"----- {path} -----\n{content[-8000:]}\n")

    # --- programs --------------------------------------------------------------------
    def patch(self, program, app, name=None, shim=None):
        """Patched copy of program (with the built shim's absolute path, or `shim`) for app; returns its path."""
        out = os.path.join(self.bin_dir, name or f"{os.path.basename(program)}.{app}")
        result = subprocess.run([self.patcher, "--app", app, "--shim", shim or self.shim, "-o", out, program],
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"netleash-patch failed ({result.returncode}): {result.stderr.strip()}")
        return out

    def env(self, extra=None):
        env = dict(os.environ)
        env["NETLEASH_SOCKET"] = self.socket_path
        env.pop("LD_PRELOAD", None)
        if extra:
            env.update({k: str(v) for k, v in extra.items()})
        return env

    def run(self, cmd, timeout=60, env=None, input=None, check=False):
        """Runs cmd to completion with NETLEASH_SOCKET set; returns CompletedProcess (text)."""
        result = subprocess.run(cmd, env=self.env(env), input=input, capture_output=True, text=True,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{cmd} exited {result.returncode}\nstdout:\n{result.stdout}\n"
                                 f"stderr:\n{result.stderr}")
        return result

    def spawn(self, cmd, env=None, **kwargs):
        """Starts cmd in the background (killed and reaped on exit); returns the Popen."""
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        kwargs.setdefault("text", True)
        proc = subprocess.Popen(cmd, env=self.env(env), **kwargs)
        self._processes.append(proc)
        return proc

    # --- servers and audit -----------------------------------------------------------
    def start_tcp_echo_server(self, family=socket.AF_INET):
        server = TcpEchoServer(family)
        self._servers.append(server)
        return server

    def start_udp_echo_server(self, family=socket.AF_INET):
        server = UdpEchoServer(family)
        self._servers.append(server)
        return server

    def start_one_shot_server(self, family=socket.AF_INET, greeting=b"", reset=False):
        server = TcpOneShotServer(family, greeting, reset)
        self._servers.append(server)
        return server

    def start_blackhole_server(self, family=socket.AF_INET):
        server = BlackholeServer(family)
        self._servers.append(server)
        return server

    def add_server(self, server):
        """Registers any object with close() to be stopped on exit."""
        self._servers.append(server)
        return server

    def audit_lines(self):
        """Every audit record so far, parsed."""
        if not os.path.exists(self.audit_path):
            return []
        with open(self.audit_path) as f:
            return [json.loads(line) for line in f if line.strip()]
