"""Starting the daemon: every start-up error is one precise line and exit
status 1 (never an abort, which systemd's Restart=on-failure would turn into a
crash loop); the default socket is the shim's; every shipped configuration
passes --check; the audit log is reopened for logrotate."""
import glob
import json
import os
import shutil
import signal
import socket
import stat
import subprocess

from harness import NETLEASHD, policy, run, wait_for

SOURCE_ROOT = os.environ["NETLEASH_SOURCE_ROOT"]
SHIM = os.environ["NETLEASH_SHIM"]


def start_and_fail(env, name, args):
    """Runs netleashd with `args` in a private working directory (where a core
    dump would land) and returns its stderr lines; it must exit 1 by itself."""
    cwd = os.path.join(env.tmp, "cwd-" + name)
    os.makedirs(cwd)
    proc = subprocess.run([NETLEASHD] + args, cwd=cwd, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1, "%s: exit status %d (negative: killed by a signal)\n%s" % (
        name, proc.returncode, proc.stderr)
    assert proc.stdout == "", (name, proc.stdout)
    assert not os.listdir(cwd), (name, os.listdir(cwd))  # no core file
    return proc.stderr.splitlines()


def startup_errors(env):
    good = os.path.join(env.tmp, "good")
    os.makedirs(good)
    with open(os.path.join(good, "a.json"), "w") as f:
        json.dump(policy("a", [{"cidr": "127.0.0.1"}]), f)
    invalid = os.path.join(env.tmp, "invalid")
    os.makedirs(invalid)
    with open(os.path.join(invalid, "b.json"), "w") as f:
        f.write('{"app": "b",\n "outbound": [{"cidr": "nonsense"}]}')
    a_file = os.path.join(env.tmp, "a-file")
    open(a_file, "w").close()
    bad_config = os.path.join(env.tmp, "bad-config.json")
    with open(bad_config, "w") as f:
        f.write('{"max_conections": 10}')
    sock = os.path.join(env.tmp, "run", "netleashd.sock")
    cases = {
        "invalid policy": (["--policy-dir", invalid], r"b.json:2:"),
        "missing policy directory": (["--policy-dir", os.path.join(env.tmp, "none")],
                                     os.path.join(env.tmp, "none") + ": cannot read directory"),
        "unwritable audit log": (["--policy-dir", good, "--audit-log", a_file + "/audit.log"],
                                 "netleashd: " + a_file + "/audit.log: Not a directory"),
        "socket it cannot bind": (["--policy-dir", good, "--socket", a_file + "/netleashd.sock"],
                                  "netleashd: " + a_file + "/netleashd.sock: Not a directory"),
        "bad --config": (["--policy-dir", good, "--config", bad_config],
                         "netleashd: " + bad_config + ': unknown key "max_conections"'),
    }
    for name, (args, expected) in cases.items():
        if "--socket" not in args:
            args = args + ["--socket", sock]
        lines = start_and_fail(env, name.replace(" ", "-"), args)
        assert len(lines) == 1 and expected in lines[0], (name, lines)
    # Nothing was left listening or half-created.
    assert not os.path.exists(sock)


def default_socket(env):
    """Without --socket the daemon listens where the shim looks: checked in a
    private mount namespace with its own /run, through /proc/PID/root."""
    usage = subprocess.run([NETLEASHD, "--help"], capture_output=True, text=True, check=True).stdout
    default = "/run/netleash/netleashd.sock"
    assert "default " + default in usage, usage
    with open(SHIM, "rb") as f:
        assert (default + "\0").encode() in f.read(), "the shim looks elsewhere"
    policies = os.path.join(env.tmp, "policies")
    os.makedirs(policies)
    stderr_path = os.path.join(env.tmp, "daemon.err")
    with open(stderr_path, "w") as stderr:
        proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount -t tmpfs netleash-test /run && exec "$@"', "sh",
             NETLEASHD, "--policy-dir", policies], stderr=stderr)
    try:
        log = lambda: open(stderr_path).read()
        wait_for(lambda: "listening on" in log() or proc.poll() is not None, what="daemon start")
        assert proc.poll() is None, log()
        assert "listening on %s and %s.dgram" % (default, default) in log(), log()
        seen = "/proc/%d/root%s" % (proc.pid, default)
        assert stat.S_ISSOCK(os.stat(seen).st_mode)
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.connect(seen)
        probe.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0, log()


def shipped_configs(env):
    """Every file in config/ and packaging/config/ passes --check: policies
    on their own, daemon configurations (netleashd*.json) as --config."""
    empty = os.path.join(env.tmp, "empty")
    os.makedirs(empty)
    # --check reads the --config file: a broken one is refused.
    broken = os.path.join(env.tmp, "netleashd-broken.json")
    with open(broken, "w") as f:
        f.write('{"peers": {"b": {"address": "10.0.0.2:7443", "public_key": "REPLACE-ME"}}}')
    refused = subprocess.run([NETLEASHD, "--check", "--policy-dir", empty, "--config", broken],
                             capture_output=True, text=True)
    assert refused.returncode == 1 and broken + ":1:" in refused.stderr, refused
    checked = []
    for path in sorted(glob.glob(os.path.join(SOURCE_ROOT, "config", "**", "*.json"), recursive=True) +
                       glob.glob(os.path.join(SOURCE_ROOT, "packaging", "config", "*.json"))):
        name = os.path.basename(path)
        if name.endswith(".schema.json"):
            continue  # the JSON Schema itself; test/netleashd/policy checks it
        if name.startswith("netleashd"):
            args = ["--check", "--policy-dir", empty, "--config", path]
        else:
            alone = os.path.join(env.tmp, "policy-%d" % len(checked))
            os.makedirs(alone)
            shutil.copy(path, alone)
            args = ["--check", "--policy-dir", alone]
        proc = subprocess.run([NETLEASHD] + args, capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stderr == "", (path, proc.stderr)
        assert "OK" in proc.stdout, (path, proc.stdout)
        checked.append(path)
    assert any(p.endswith("config/netleashd.json") for p in checked), checked
    assert len(checked) >= 8, checked


def audit_reopen(env):
    """logrotate renames the log, then signals: new lines go to a new file at
    the path, by SIGHUP and by the control socket's reload."""
    port = env.tcp_echo_server()
    d = env.daemon({"demo.json": policy("demo", [{"cidr": "127.0.0.1", "ports": [port]}])})
    d.start()
    connect = "print(json.dumps(w.tcp_connect(P, '127.0.0.1', %d)[1]))" % port
    rotated = []
    for how in ("SIGHUP", "control"):
        assert env.run_client("demo", connect, d) == 0
        d.wait_audit(lambda a: a["op"] == "close", what="close line before rotation")
        before = len(d.audit())
        moved = d.audit_path + ".%d" % (len(rotated) + 1)
        os.rename(d.audit_path, moved)
        rotated.append(moved)
        if how == "SIGHUP":
            d.signal(signal.SIGHUP)
            wait_for(lambda: d.log().count("loaded 1 policies") == 2, what="reload")
        else:
            ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            ctl.connect(d.socket + ".ctl")
            ctl.sendall(b'{"cmd": "reload"}\n')
            answer = ctl.makefile().readline()
            ctl.close()
            assert json.loads(answer)["ok"], answer
        assert env.run_client("demo", connect, d) == 0
        lines = d.wait_audit(lambda a: a["op"] == "close", what="close line after " + how)
        assert [a["op"] for a in lines] == ["close"] and len(d.audit()) == 2, d.audit()
        with open(moved) as f:
            assert len(f.readlines()) == before, how  # nothing more went to the old file


if __name__ == "__main__":
    run({f.__name__: f for f in [startup_errors, default_socket, shipped_configs, audit_reopen]})
