"""Executables in places of chosen ownership, for the identity tests.

The identity rule looks at owners and modes of a file and of every directory
above it, so these tests build their own private tree (never the checkout's,
which may live anywhere, e.g. under /root mode 700): a world-readable temp dir
holding the daemon, the wire module, the stub shim, and copies of python3
patched as an app. Processes run as `nobody` through setpriv.
"""
import json
import os
import pwd
import shutil
import subprocess
import sys

from harness import HERE, NETLEASH_PATCH, STUB_SHIM

NOBODY = pwd.getpwnam("nobody")


def system_python():
    """A python3 that `nobody` can run: Debian's, else this one."""
    for candidate in ("/usr/bin/python3",):
        if os.path.exists(candidate):
            return os.path.realpath(candidate)
    return os.path.realpath(sys.executable)


class World:
    def __init__(self, env):
        self.env = env
        os.chmod(env.tmp, 0o755)  # mkdtemp's 0700 would keep nobody out
        self.root = os.path.join(env.tmp, "world")
        os.makedirs(self.root, mode=0o755)
        os.chmod(self.root, 0o755)
        self.lib = os.path.join(self.root, "lib")
        os.makedirs(self.lib, mode=0o755)
        shutil.copy(os.path.join(os.path.dirname(HERE), "netleash_wire.py"), self.lib)
        self.shim = os.path.join(self.lib, "stub_shim.so")
        shutil.copy(STUB_SHIM, self.shim)
        os.chmod(self.shim, 0o755)
        self.python = system_python()

    def dir(self, *parts, mode=0o755, owner=0):
        path = os.path.join(self.root, *parts)
        os.makedirs(path, exist_ok=True)
        os.chown(path, owner, -1)
        os.chmod(path, mode)
        return path

    def patched(self, app, path, owner=0, mode=0o755):
        """python3 patched as `app` at `path`, owned by `owner`, with `mode`."""
        subprocess.run([NETLEASH_PATCH, "--app", app, "--shim", self.shim, "-o", path,
                        self.python], check=True)
        os.chown(path, owner, -1)
        os.chmod(path, mode)
        return path

    def copy(self, source, path, owner=0, mode=0o755):
        shutil.copy(source, path)
        os.chown(path, owner, -1)
        os.chmod(path, mode)
        return path

    def command(self, exe, daemon, code, join=True):
        """The command line that runs `code` in `exe` (`P`: the daemon socket,
        `w`: the wire module) after joining its process tree as the shim
        would (unless not `join`)."""
        prelude = ("import sys, json, socket, os\nsys.path.insert(0, %r)\n"
                   "import netleash_wire as w\nP = %r\n%s\n"
                   % (self.lib, daemon.socket, "w.join_tree(P)" if join else ""))
        return [exe, "-c", prelude + code]

    def run(self, exe, daemon, code, user=None, env=None, check=True, join=True):
        """Runs command(exe, daemon, code, join) as `user` (a pwd entry) if
        given; returns its last JSON line."""
        args = self.command(exe, daemon, code, join)
        if user is not None:
            args = ["setpriv", "--reuid=%d" % user.pw_uid, "--regid=%d" % user.pw_gid,
                    "--clear-groups", "--"] + args
        proc = subprocess.run(args, capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, **(env or {})), cwd=self.root)
        if check and proc.returncode != 0:
            raise AssertionError("client %s failed: %s" % (exe, proc.stderr))
        lines = proc.stdout.strip().splitlines()
        return json.loads(lines[-1]) if lines else None

    def connect_verdict(self, exe, daemon, port, **kwargs):
        """The verdict of one kConnect to 127.0.0.1:port from `exe`."""
        return self.run(exe, daemon, "print(json.dumps(w.tcp_connect(P, '127.0.0.1', %d)[1]))"
                        % port, **kwargs)

    def daemon(self, policies, config=None):
        return self.env.daemon(policies, config, name="world/daemon")


def last_connect(daemon):
    lines = [a for a in daemon.audit() if a["op"] == "connect"]
    assert lines, "no connect audit line"
    return lines[-1]
