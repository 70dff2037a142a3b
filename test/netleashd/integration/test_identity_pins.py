"""Policies bind an app to who runs it and what it runs: "users", "groups",
"binary", "sha256" (docs/man/netleash.json.5). Real daemon, patched python3
copies, processes run as root and as nobody."""
import errno
import hashlib
import os
import signal
import subprocess

from harness import NETLEASHD, policy, run, wait_for
from identity_world import NOBODY, World, last_connect


def rule(port):
    return [{"cidr": "127.0.0.1", "ports": [port]}]


def pins_hold(env):
    w = World(env)
    port = env.tcp_echo_server()
    bin_dir = w.dir("bin")
    exe = {app: w.patched(app, os.path.join(bin_dir, "python-" + app))
           for app in ("users", "groups", "binary", "digest")}
    elsewhere = w.patched("binary", os.path.join(w.dir("other"), "python-binary"))
    with open(exe["digest"], "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    d = w.daemon({
        "users.json": policy("users", rule(port), users=["nobody", 0]),
        "groups.json": policy("groups", rule(port), groups=["root"]),
        "binary.json": policy("binary", rule(port), binary=[exe["binary"]]),
        "digest.json": policy("digest", rule(port), sha256=[digest.upper()]),
    }).start()

    def verdict(app, exe_path=None, user=None):
        v = w.connect_verdict(exe_path or exe[app], d, port, user=user)
        return v, last_connect(d)

    for user in (None, NOBODY):
        assert verdict("users", user=user)[0] == 0
    assert verdict("groups")[0] == 0
    assert verdict("binary")[0] == 0
    assert verdict("digest")[0] == 0
    # Mismatches, each with its reason.
    v, line = verdict("groups", user=NOBODY)
    assert v == errno.EACCES and 'is in "groups"' in line["reason"], line
    assert line["uid"] == NOBODY.pw_uid, line
    v, line = verdict("binary", elsewhere)
    assert v == errno.EACCES, line
    assert 'executable %s is not in "binary"' % elsewhere in line["reason"], line
    d.write_policy("users.json", policy("users", rule(port), users=[NOBODY.pw_uid]))
    d.write_policy("digest.json", policy("digest", rule(port), sha256=["0" * 64]))
    d.signal(signal.SIGHUP)
    wait_for(lambda: d.log().count("loaded 4 policies") == 2, what="reload")
    v, line = verdict("users")
    assert v == errno.EACCES and 'uid 0 (one of the process\'s uids 0, 0, 0, 0) is not in "users"' \
        in line["reason"], line
    assert verdict("users", user=NOBODY)[0] == 0
    v, line = verdict("digest")
    assert v == errno.EACCES and ("has sha256 %s, which is not in \"sha256\"" % digest) \
        in line["reason"], line


def check_warns(env):
    w = World(env)
    d = w.daemon({"open.json": policy("open", []),
                  "bound.json": policy("bound", [], users=["root"])})
    env.daemons.remove(d)  # only its policy directory is used
    proc = subprocess.run([NETLEASHD, "--check", "--policy-dir", d.policy_dir],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    warning = ('%s: warning: no "users": any local user who can run this binary gets this policy'
               % os.path.join(d.policy_dir, "open.json"))
    assert proc.stderr.strip() == warning, proc.stderr
    # Bad values are errors at their position.
    d.write_policy("bad.json", '{"app": "bad",\n "users": ["no-such-user-x", 4294967295],\n'
                   ' "groups": [],\n "binary": ["bin/x", "/a//b"],\n "sha256": ["abc"]}')
    proc = subprocess.run([NETLEASHD, "--check", "--policy-dir", d.policy_dir],
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    bad = os.path.join(d.policy_dir, "bad.json")
    for expected in (bad + ':2:12: unknown user "no-such-user-x"',
                     bad + ":2:30: user id 4294967295 is out of range 0-4294967294",
                     bad + ':3:12: "groups" is empty',
                     bad + ':4:13: "binary" entry "bin/x" must be an absolute path',
                     bad + ':4:22: "binary" entry "/a//b" must be an absolute path',
                     bad + ':5:13: "sha256" entry "abc" must be 64 hex digits'):
        assert expected in proc.stderr, (expected, proc.stderr)


if __name__ == "__main__":
    run({f.__name__: f for f in (pins_hold, check_warns)})
