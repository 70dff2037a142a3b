"""The exec race: a process connects, forks, and one of the two exec's a
trusted patched program while the other, still untrusted code, sends the
Request on the shared socket. The Request's sender (SCM_CREDENTIALS) must get
the same identity as the connecting process, so this never gains the trusted
program's policy (docs/identity.md)."""
import errno
import os
import signal
import subprocess

from harness import policy, run
from identity_world import World

# Runs in an unpatched python3: connects, forks, and then either the parent
# exec's the trusted program and the child sends ("parent-execs"), or the
# child exec's it and the parent sends ("child-execs"). The sender waits for
# the exec (the close-on-exec pipe's EOF) and prints "sent", then the verdict.
RACER = r"""
import os, sys
sys.path.insert(0, sys.argv[1])
import netleash_wire as w
path, trusted, port, mode = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
s = w.connect_stream(path)
r, exec_done = os.pipe()
child = os.fork()
exec_here = (child != 0) == (mode == "parent-execs")
if exec_here:
    os.close(r)
    os.execv(trusted, [trusted, "-c", "import sys; sys.stdin.read()"])
os.close(exec_done)
os.read(r, 1)
s.sendall(w.request(w.OP_CONNECT, "127.0.0.1", port, w.PROTO_TCP))
print("sent", flush=True)
print(w.parse_reply(w.recv_exact(s, w.REPLY_SIZE))[1], flush=True)
if child == 0:
    os._exit(0)
sys.stdin.read()
os.waitpid(child, 0)
"""


def race(w, d, trusted, port, mode, stop_daemon):
    """One try; returns the verdict the untrusted sender got."""
    if stop_daemon:
        d.signal(signal.SIGSTOP)  # the connection waits in the backlog
    proc = subprocess.Popen([w.python, "-c", RACER, w.lib, d.socket, trusted, str(port), mode],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "sent"
        if stop_daemon:
            # Only now does the daemon accept: the connecting process already
            # runs the trusted program.
            d.signal(signal.SIGCONT)
        return int(proc.stdout.readline())
    finally:
        if stop_daemon:
            d.signal(signal.SIGCONT)
        proc.stdin.close()
        proc.wait(30)


def exec_race(env):
    w = World(env)
    port = env.tcp_echo_server()
    d = w.daemon({"priv.json": policy("priv", [{"cidr": "127.0.0.1", "ports": [port]}])}).start()
    trusted = w.patched("priv", os.path.join(w.dir("bin"), "python-priv"))
    assert w.connect_verdict(trusted, d, port) == 0
    # The daemon held back until the exec is done: the connecting pid is the
    # trusted program by then, every time.
    for _ in range(20):
        assert race(w, d, trusted, port, "parent-execs", stop_daemon=True) == errno.EACCES
    reasons = [a["reason"] for a in d.audit() if a["op"] == "connect" and a["verdict"] == "deny"]
    assert reasons and all("not by the connecting pid" in r for r in reasons), reasons
    # Unaided, both ways round, many times.
    for i in range(200):
        mode = "parent-execs" if i % 2 else "child-execs"
        assert race(w, d, trusted, port, mode, stop_daemon=False) == errno.EACCES, (i, mode)
    allowed = [a for a in d.audit() if a["op"] == "connect" and a["verdict"] == "allow"]
    assert len(allowed) == 1, allowed


if __name__ == "__main__":
    run({"exec_race": exec_race})
