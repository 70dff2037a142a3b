"""Identity records count only in files the operator controls, and only for
processes that run no code from other files (src/netleashd/README.md, "Identity
caveats"; docs/identity.md). Each test runs a real daemon and real patched
python3 copies placed in directories of chosen ownership."""
import errno
import os
import shutil
import struct

from harness import policy, run
from identity_world import NOBODY, World, last_connect


def allowing(app, port, **extra):
    return {app + ".json": policy(app, [{"cidr": "127.0.0.1", "ports": [port]}], **extra)}


def user_owned_executable(env):
    w = World(env)
    port = env.tcp_echo_server()
    d = w.daemon(allowing("priv", port)).start()
    exe = w.patched("priv", os.path.join(w.dir("bin"), "python-priv"), owner=NOBODY.pw_uid)
    assert w.connect_verdict(exe, d, port) == errno.EACCES
    line = last_connect(d)
    assert line["app"] is None and line["verdict"] == "deny", line
    assert ("executable %s is owned by uid %d, not by root or a trusted owner" %
            (exe, NOBODY.pw_uid)) in line["reason"], line
    assert 'app "priv"' in line["reason"], line
    # The very same file, handed to root, is the operator's.
    os.chown(exe, 0, -1)
    assert w.connect_verdict(exe, d, port) == 0
    line = last_connect(d)
    assert (line["app"], line["verdict"], line["exe"], line["uid"]) == ("priv", "allow", exe, 0), line


def writable_places(env):
    w = World(env)
    port = env.tcp_echo_server()
    d = w.daemon(allowing("priv", port)).start()
    # A root-owned file in a directory anyone may write (no sticky bit).
    open_dir = w.dir("open", mode=0o777)
    exe = w.patched("priv", os.path.join(open_dir, "python-priv"))
    assert w.connect_verdict(exe, d, port) == errno.EACCES
    assert "directory %s is writable by others" % open_dir in last_connect(d)["reason"], last_connect(d)
    # Sticky and root-owned, like /tmp: others cannot replace root's file.
    os.chmod(open_dir, 0o1777)
    assert w.connect_verdict(exe, d, port) == 0
    # ... but a file of someone else's in it is still not the operator's.
    theirs = w.patched("priv", os.path.join(open_dir, "python-theirs"), owner=NOBODY.pw_uid)
    assert w.connect_verdict(theirs, d, port) == errno.EACCES
    assert "is owned by uid %d" % NOBODY.pw_uid in last_connect(d)["reason"]
    # A group-writable file, and a group-writable directory higher up.
    group_file = w.patched("priv", os.path.join(w.dir("bin"), "python-g"), mode=0o775)
    assert w.connect_verdict(group_file, d, port) == errno.EACCES
    assert "executable %s is writable by group" % group_file in last_connect(d)["reason"]
    upper = w.dir("upper", mode=0o775)
    deep = w.patched("priv", os.path.join(w.dir("upper", "bin"), "python-deep"))
    assert w.connect_verdict(deep, d, port) == errno.EACCES
    assert "directory %s is writable by group" % upper in last_connect(d)["reason"]


def trusted_owners(env):
    w = World(env)
    port = env.tcp_echo_server()
    exe = w.patched("priv", os.path.join(w.dir("bin"), "python-priv"), owner=NOBODY.pw_uid)
    plain = w.daemon(allowing("priv", port)).start()
    assert w.connect_verdict(exe, plain, port) == errno.EACCES
    plain.stop()
    for owner in (NOBODY.pw_uid, "nobody"):
        env.daemons.remove(plain) if plain in env.daemons else None
        d = env.daemon(allowing("priv", port), {"trusted_owners": [owner]},
                       name="world/trusting-%s" % owner).start()
        assert w.connect_verdict(exe, d, port) == 0, owner
        d.stop()


# The identity note as netleash-patch writes it: owner "netleash", type
# NT_VERSION, the app id NUL-terminated (readelf -n shows it).
def netleash_note(app):
    name = b"netleash\0".ljust(12, b"\0")
    desc = app.encode() + b"\0"
    return struct.pack("<III", 9, len(desc), 1) + name + desc.ljust((len(desc) + 3) & ~3, b"\0")


def forge_note(path, app):
    """Writes a netleash note over the GNU build-id note (same size), as
    anyone can do to a copy of any program: no netleash-patch involved."""
    with open(path, "r+b") as f:
        data = f.read()
        build_id = struct.pack("<III", 4, 20, 3) + b"GNU\0"
        at = data.index(build_id)
        note = netleash_note(app)
        assert len(note) == len(build_id) + 20, len(note)
        f.seek(at)
        f.write(note)


def forged_note(env):
    w = World(env)
    port = env.tcp_echo_server()
    d = w.daemon(allowing("hand-forged", port)).start()
    exe = w.copy(w.python, os.path.join(w.dir("home", owner=NOBODY.pw_uid), "python"),
                 owner=NOBODY.pw_uid)
    forge_note(exe, "hand-forged")
    assert w.connect_verdict(exe, d, port, user=NOBODY) == errno.EACCES
    line = last_connect(d)
    assert line["app"] is None and 'app "hand-forged"' in line["reason"], line
    assert "owned by uid %d" % NOBODY.pw_uid in line["reason"], line
    assert line["uid"] == NOBODY.pw_uid and line["exe"] == exe, line


def foreign_code(env):
    w = World(env)
    port = env.tcp_echo_server()
    d = w.daemon(allowing("priv", port)).start()
    exe = w.patched("priv", os.path.join(w.dir("bin"), "python-priv"))
    assert w.connect_verdict(exe, d, port) == 0
    # LD_PRELOAD of a library that a user owns.
    home = w.dir("home", owner=NOBODY.pw_uid)
    evil = w.copy(w.shim, os.path.join(home, "evil.so"), owner=NOBODY.pw_uid)
    assert w.connect_verdict(exe, d, port, env={"LD_PRELOAD": evil}) == errno.EACCES
    line = last_connect(d)
    assert "library %s is owned by uid %d" % (evil, NOBODY.pw_uid) in line["reason"], line
    # A dlopen of the same library, by the trusted program itself.
    code = """
import ctypes
ctypes.CDLL(%r)
print(json.dumps(w.tcp_connect(P, '127.0.0.1', %d)[1]))
""" % (evil, port)
    assert w.run(exe, d, code) == errno.EACCES
    assert "library %s is owned by uid" % evil in last_connect(d)["reason"], last_connect(d)
    # A library from a memfd (no file the operator could control).
    code = """
import ctypes
fd = os.memfd_create("lib")
os.write(fd, open(%r, "rb").read())
ctypes.CDLL("/proc/self/fd/%%d" %% fd)
print(json.dumps(w.tcp_connect(P, '127.0.0.1', %d)[1]))
""" % (w.shim, port)
    assert w.run(exe, d, code) == errno.EACCES
    assert "/memfd:lib (deleted)" in last_connect(d)["reason"], last_connect(d)
    # A library that was deleted after it was loaded.
    gone = w.copy(w.shim, os.path.join(w.dir("libs"), "gone.so"))
    code = """
import ctypes
ctypes.CDLL(%r)
os.unlink(%r)
print(json.dumps(w.tcp_connect(P, '127.0.0.1', %d)[1]))
""" % (gone, gone, port)
    assert w.run(exe, d, code) == errno.EACCES
    assert gone + " (deleted)" in last_connect(d)["reason"], last_connect(d)


if __name__ == "__main__":
    run({f.__name__: f for f in (user_owned_executable, writable_places, trusted_owners,
                                 forged_note, foreign_code)})
