"""Two "hosts" on one machine for the encrypted-link tests: two private network
namespaces joined by a veth pair, one real netleashd in each (their Unix
sockets on the shared filesystem), keys and configs made with the real
`netleashd --genkey`. Every process is reaped and both namespaces (with the
veth pair) are deleted on exit, also on failure.

Addresses come from 10.99.N.0/24 inside these namespaces only; nothing is sent
anywhere else.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(os.path.abspath(__file__)), "../lib")))
from netleash_skip import skip  # noqa: E402



def wait_for(condition, timeout=15.0, what="condition"):
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


def tool(name):
    path = os.environ.get(name)
    if not path:
        sys.exit(f"{name} is not set (meson sets it)")
    return os.path.abspath(path)


class Host:
    def __init__(self, lab, name, ns, address):
        self.lab, self.name, self.ns, self.address = lab, name, ns, address
        self.dir = os.path.join(lab.dir, name)
        os.makedirs(os.path.join(self.dir, "policies"))
        self.key = os.path.join(self.dir, "host.key")
        self.public_key = lab.genkey(self.key)
        self.socket = os.path.join(self.dir, "netleashd.sock")
        self.audit = os.path.join(self.dir, "audit.log")
        self.log = os.path.join(self.dir, "netleashd.log")
        self.config = os.path.join(self.dir, "netleashd.json")
        self.daemon = None

    def exec_cmd(self, cmd):
        return ["ip", "netns", "exec", self.ns] + cmd

    def write_policy(self, app, policy):
        with open(os.path.join(self.dir, "policies", f"{app}.json"), "w") as f:
            json.dump({"app": app, **policy}, f, indent=2)

    def write_config(self, config):
        with open(self.config, "w") as f:
            json.dump(config, f, indent=2)

    def start(self):
        mark = os.path.getsize(self.log) if os.path.exists(self.log) else 0
        with open(self.log, "ab") as log:
            self.daemon = self.lab.spawn(self.exec_cmd(
                [self.lab.netleashd, "--socket", self.socket, "--policy-dir",
                 os.path.join(self.dir, "policies"), "--audit-log", self.audit,
                 "--config", self.config]), stdout=log, stderr=log)

        def ready():
            if self.daemon.poll() is not None:
                raise RuntimeError(f"{self.name}: netleashd exited with {self.daemon.returncode}:\n"
                                   + open(self.log).read())
            with open(self.log, "rb") as f:
                f.seek(mark)
                return b"listening on" in f.read()
        wait_for(ready, what=f"{self.name} netleashd")

    def stop(self):
        if self.daemon is None or self.daemon.poll() is not None:
            return
        self.daemon.send_signal(signal.SIGTERM)
        self.daemon.wait(15)

    def restart(self):
        self.stop()
        self.start()

    def audit_lines(self):
        if not os.path.exists(self.audit):
            return []
        with open(self.audit) as f:
            return [json.loads(line) for line in f if line.strip()]

    def env(self):
        env = dict(os.environ)
        env["NETLEASH_SOCKET"] = self.socket
        env.pop("LD_PRELOAD", None)
        return env


class Lab:
    """Context manager: two namespaces, a veth pair, hosts A and B."""

    def __init__(self):
        self.netleashd = tool("NETLEASHD")
        self.patcher = tool("NETLEASH_PATCH")
        self.shim = tool("NETLEASH_SHIM")
        tag = f"{os.getpid() % 100000}"
        self.ns_a, self.ns_b = f"nltA{tag}", f"nltB{tag}"
        self.veth_a, self.veth_b = f"nlta{tag}", f"nltb{tag}"
        self.net = f"10.99.{os.getpid() % 250}"
        self.processes = []
        self.namespaces = []

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="netleash-link-")
        try:
            self._make_network()
        except subprocess.CalledProcessError as error:
            # Asked before _cleanup() empties the list: once a namespace was
            # created, the machine can make them and a later step failing is a
            # failure, not a reason to skip.
            created = bool(self.namespaces)
            self._cleanup()
            if os.geteuid() != 0 or not created:
                skip(f"cannot create network namespaces ({error}: {error.stderr.decode(errors='replace').strip()})")
            raise
        self.a = Host(self, "hosta", self.ns_a, f"{self.net}.1")
        self.b = Host(self, "hostb", self.ns_b, f"{self.net}.2")
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            for host in (getattr(self, "a", None), getattr(self, "b", None)):
                if host is None:
                    continue
                for path in (host.log, host.audit):
                    if os.path.exists(path):
                        sys.stderr.write(f"----- {path} -----\n{open(path).read()[-6000:]}\n")
        self._cleanup(keep=exc[0] is not None and os.environ.get("NETLEASH_KEEP_TMP") == "1")
        return False

    def _run(self, *cmd):
        subprocess.run(list(cmd), check=True, capture_output=True, timeout=30)

    def _make_network(self):
        for ns in (self.ns_a, self.ns_b):
            self._run("ip", "netns", "add", ns)
            self.namespaces.append(ns)
        self._run("ip", "link", "add", self.veth_a, "netns", self.ns_a, "type", "veth",
                  "peer", "name", self.veth_b, "netns", self.ns_b)
        for ns, veth, host in ((self.ns_a, self.veth_a, 1), (self.ns_b, self.veth_b, 2)):
            self._run("ip", "-n", ns, "addr", "add", f"{self.net}.{host}/24", "dev", veth)
            self._run("ip", "-n", ns, "link", "set", veth, "up")
            self._run("ip", "-n", ns, "link", "set", "lo", "up")

    def _cleanup(self, keep=False):
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        for ns in self.namespaces:  # deleting a namespace deletes its veth end (and the pair)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.namespaces = []
        if keep:
            print(f"kept {self.dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def genkey(self, path):
        out = subprocess.run([self.netleashd, "--genkey", path], check=True, capture_output=True,
                             text=True, timeout=30)
        return out.stdout.strip()

    def spawn(self, cmd, **kwargs):
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, **kwargs)
        self.processes.append(proc)
        return proc

    def patch(self, program, app):
        out = os.path.join(self.dir, f"{os.path.basename(program)}.{app}")
        subprocess.run([self.patcher, "--app", app, "--shim", self.shim, "-o", out, program],
                       check=True, capture_output=True, timeout=60)
        return out

    def link_configs(self, port, tunnel_port=7443, extra_b=None):
        """A dials B; B lets A reach 127.0.0.1:port (its own loopback)."""
        self.tunnel_port = tunnel_port
        self.a.write_config({
            "key": self.a.key,
            "peers": {"hostb": {"address": f"{self.b.address}:{tunnel_port}",
                                "public_key": self.b.public_key}},
            "tunnel_handshake_timeout_ms": 3000,
        })
        config_b = {
            "key": self.b.key,
            "tunnel_listen": f"{self.b.address}:{tunnel_port}",
            "peers": {"hosta": {"address": f"{self.a.address}:{tunnel_port}",
                                "public_key": self.a.public_key}},
            "tunnel_ingress": [{"peer": "hosta", "cidr": "127.0.0.1", "ports": [port]}],
            "tunnel_handshake_timeout_ms": 3000,
        }
        config_b.update(extra_b or {})
        self.b.write_config(config_b)
