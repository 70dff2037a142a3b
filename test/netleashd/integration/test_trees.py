"""Process trees, attacked (docs/identity.md, "Process trees"): a process
decides nothing about its own tree. Each test runs a real daemon and python3
copies patched with the stub shim; the wire module joins the tree as the
shim's constructor would, or the test does it by hand to misbehave."""
import errno
import os
import subprocess

from harness import policy, run, wait_for
from identity_world import NOBODY, World, last_connect

# ctypes: install a seccomp filter that allows everything, with a listener
# (the way a process could try to root a tree of its own), into fd 1009.
OWN_LISTENER = r"""
import ctypes, struct
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
allow = ctypes.create_string_buffer(struct.pack("HBBI", 0x06, 0, 0, 0x7fff0000))
prog = Prog(1, ctypes.addressof(allow))
libc.syscall.restype = ctypes.c_long
own = libc.syscall(317, 1, 8, ctypes.byref(prog))  # seccomp(SET_MODE_FILTER, NEW_LISTENER)
own_errno = ctypes.get_errno()
if own >= 0:
    os.dup2(own, 1009)
"""


def allowing(app, port):
    return {app + ".json": policy(app, [{"cidr": "127.0.0.1", "ports": [port]}])}


def own_listener_refused(env):
    """A process in no tree (an unpatched python3) roots a tree of its own
    and offers it: refused, and it stays without a policy."""
    w = World(env)
    port = env.tcp_echo_server()
    d = w.daemon(allowing("priv", port)).start()
    result = w.run(w.python, d, OWN_LISTENER + "print(json.dumps([own >= 0, w.join_tree(P), "
                   "w.tcp_connect(P, '127.0.0.1', %d)[1]]))" % port)
    assert result == [True, errno.EINVAL, errno.EACCES], result
    assert "process tree refused" in d.log(), d.log()
    assert last_connect(d)["app"] is None, last_connect(d)


def member_cannot_root(env):
    """A forked child of a tree's first process cannot root another tree
    (EBUSY) and is decided under the tree's app, marked inherited."""
    w = World(env)
    port = env.tcp_echo_server()
    d = w.daemon(allowing("priv", port)).start()
    exe = w.patched("priv", os.path.join(w.dir("bin"), "python-priv"))
    result = w.run(exe, d, """
read, write = os.pipe()
child = os.fork()
if child == 0:
%s
    report = [own, own_errno, w.probe_tree(), w.tcp_connect(P, '127.0.0.1', %d)[1]]
    os.write(write, json.dumps(report).encode())
    os._exit(0)
os.close(write)
os.waitpid(child, 0)
print(os.read(read, 4096).decode())
""" % ("\n".join("    " + line for line in OWN_LISTENER.strip().splitlines()), port))
    assert result == [-1, errno.EBUSY, 0, 0], result
    line = last_connect(d)
    assert (line["app"], line["verdict"], line.get("inherited")) == ("priv", "allow", True), line


def listener_offered_twice(env):
    """The first process keeps a copy of its listener and offers it again
    once its tree stands: the daemon refuses the second offer."""
    w = World(env)
    port = env.tcp_echo_server()
    d = w.daemon(allowing("priv", port)).start()
    exe = w.patched("priv", os.path.join(w.dir("bin"), "python-priv"))
    result = w.run(exe, d, """
copy = os.dup(1009)
joined = w.join_tree(P)
with w.connect_stream(P) as s:
    socket.send_fds(s, [w.request(w.OP_JOIN_TREE)], [copy])
    s.recv(1)  # the daemon closes the connection once it has judged the offer
os.close(copy)
print(json.dumps([joined, w.tcp_connect(P, '127.0.0.1', %d)[1]]))
""" % port, join=False)
    assert result == [0, 0], result
    # Refused as the offer of a process in a tree already (its pid is bound).
    wait_for(lambda: "process tree refused: the process is in a tree already" in d.log(), what="the refusal")
    # A child forked before the offer holds the same listener and, before it
    # ever probes (so in no tree the daemon knows), offers it: the daemon
    # holds that very listener already.
    result = w.run(exe, d, """
read, write = os.pipe()
child = os.fork()
if child == 0:
    os.read(read, 1)
    with w.connect_stream(P) as s:
        socket.send_fds(s, [w.request(w.OP_JOIN_TREE)], [1009])
        s.recv(1)  # the daemon closes the connection once it has judged the offer
    os._exit(0)
joined = w.join_tree(P)
os.write(write, b"x")
os.waitpid(child, 0)
print(json.dumps(joined))
""", join=False)
    assert result == 0, result
    wait_for(lambda: "process tree refused: the listener roots a tree already" in d.log(), what="the refusal")


def refused_root_no_hang(env):
    """A root whose offer is refused (a user-owned copy) gets ENOSYS from its
    probe at once, never a hang, and no network."""
    w = World(env)
    port = env.tcp_echo_server()
    d = w.daemon(allowing("priv", port)).start()
    exe = w.patched("priv", os.path.join(w.dir("bin"), "python-theirs"), owner=NOBODY.pw_uid)
    result = w.run(exe, d, "print(json.dumps([w.join_tree(P), w.tcp_connect(P, '127.0.0.1', %d)[1]]))"
                   % port, join=False)
    assert result == [errno.ENOSYS, errno.EACCES], result
    assert "is owned by uid %d" % NOBODY.pw_uid in last_connect(d)["reason"], last_connect(d)


def trees_per_user(env):
    """One uid roots at most max_trees_per_user trees at a time: the next
    program started gets no network, and one more may start once a tree ends."""
    w = World(env)
    port = env.tcp_echo_server()
    d = w.daemon(allowing("priv", port), config={"max_trees_per_user": 2}).start()
    exe = w.patched("priv", os.path.join(w.dir("bin"), "python-priv"))
    holders = []
    for _ in range(2):  # two programs that keep their trees while they wait
        holder = subprocess.Popen(w.command(exe, d, "print(w.tcp_connect(P, '127.0.0.1', %d)[1], flush=True)\n"
                                            "sys.stdin.readline()" % port),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=w.root)
        env.closers.append(holder.kill)
        holders.append(holder)
        assert holder.stdout.readline().strip() == "0"
    connect = "print(json.dumps(w.tcp_connect(P, '127.0.0.1', %d)[1]))" % port
    assert w.run(exe, d, connect) == errno.EACCES
    wait_for(lambda: "roots max_trees_per_user trees already" in d.log(), what="the refusal")
    holders[0].communicate("\n", timeout=30)
    wait_for(lambda: w.run(exe, d, connect) == 0, what="a tree to end")


if __name__ == "__main__":
    run({"own_listener_refused": own_listener_refused, "member_cannot_root": member_cannot_root,
         "listener_offered_twice": listener_offered_twice, "refused_root_no_hang": refused_root_no_hang,
         "trees_per_user": trees_per_user})
