"""The daemon's life: --check, SIGHUP reload (valid and invalid sets, live
connections kept), SIGTERM, being killed mid-transfer, socket ownership."""
import os
import re
import signal
import socket
import subprocess

from harness import NETLEASHD, policy, run, wait_for, wire

ECHO = """
s.sendall(b'%s'); print(json.dumps(w.recv_exact(s, %d).decode()))
"""


def check_command(env):
    good = os.path.join(env.tmp, "good")
    bad = os.path.join(env.tmp, "bad")
    os.makedirs(good)
    os.makedirs(bad)
    with open(os.path.join(good, "a.json"), "w") as f:
        f.write('{"app": "a", "outbound": [{"host": "localhost", "ports": [80]}]}')
    with open(os.path.join(bad, "b.json"), "w") as f:
        f.write('{"app": "b",\n "outbound": [{"cidr": "10.0.0.0/33"}],\n "bogus": 1}')
    with open(os.path.join(bad, "c.json"), "w") as f:
        f.write('{"app": "c", "outbound": [')
    ok = subprocess.run([NETLEASHD, "--check", "--policy-dir", good], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    ko = subprocess.run([NETLEASHD, "--check", "--policy-dir", bad], capture_output=True, text=True)
    assert ko.returncode != 0
    lines = ko.stderr.strip().splitlines()
    assert lines, "no error lines"
    for line in lines:
        assert re.match(r"^.+\.json:\d+:\d+: .+", line), line
    assert any("b.json:2:" in l for l in lines) and any("c.json:" in l for l in lines), lines
    usage = subprocess.run([NETLEASHD, "--socket"], capture_output=True, text=True)
    assert usage.returncode == 2
    assert subprocess.run([NETLEASHD, "--version"], capture_output=True).returncode == 0
    assert subprocess.run([NETLEASHD, "--help"], capture_output=True).returncode == 0


def reload(env):
    port_a = env.tcp_echo_server()
    port_b = env.tcp_echo_server()
    d = env.daemon({"demo.json": policy("demo", [{"cidr": "127.0.0.1", "ports": [port_a]}])})
    d.start()
    held = env.client_session("demo", d)
    assert held.run("s, v, r = w.tcp_connect(P, '127.0.0.1', %d); print(json.dumps([v, r]))"
                    % port_a) == [0, 0]
    connect = "print(json.dumps(w.tcp_connect(P, '127.0.0.1', %d)[1]))"

    d.write_policy("demo.json", policy("demo", [{"cidr": "127.0.0.1", "ports": [port_b]}]))
    d.signal(signal.SIGHUP)
    wait_for(lambda: d.log().count("loaded 1 policies") == 2, what="reload")
    assert env.run_client("demo", connect % port_a, d) == 13
    assert env.run_client("demo", connect % port_b, d) == 0
    assert held.run(ECHO % ("kept", 4)) == "kept"  # the old connection survives

    d.write_policy("demo.json", '{"app": "demo", "outbound": [{"cidr": "nonsense"}]}')
    d.signal(signal.SIGHUP)
    wait_for(lambda: "keeping the 1 loaded before" in d.log(), what="rejected reload")
    assert re.search(r"demo\.json:\d+:\d+: ", d.log()), d.log()
    assert env.run_client("demo", connect % port_b, d) == 0  # the old set still rules
    assert held.run(ECHO % ("still", 5)) == "still"
    assert d.alive()


def sigterm(env):
    port = env.tcp_echo_server()
    d = env.daemon({"demo.json": policy("demo", [{"cidr": "127.0.0.1", "ports": [port]}])})
    d.start()
    held = env.client_session("demo", d)
    held.run("s, v, r = w.tcp_connect(P, '127.0.0.1', %d)\n" % port + ECHO % ("x", 1))
    idle = wire.connect_stream(d.socket)
    assert d.stop() == 0, d.log()
    assert not os.path.exists(d.socket) and not os.path.exists(d.socket + ".dgram")
    ops = [a["op"] for a in d.audit()]
    assert ops == ["connect", "close"], ops  # the close line was flushed before exit
    assert held.run("print(json.dumps(s.recv(10).decode()))") == ""
    idle.settimeout(5)
    assert idle.recv(10) == b""


def killed_mid_transfer(env):
    port = env.tcp_echo_server()
    d = env.daemon({"demo.json": policy("demo", [{"cidr": "127.0.0.1", "ports": [port]}])})
    d.start()
    held = env.client_session("demo", d)
    held.run("""
s, v, r = w.tcp_connect(P, '127.0.0.1', %d)
import threading
def pump():
    try:
        while True:
            s.sendall(os.urandom(1 << 16))
    except OSError as e:
        pass
threading.Thread(target=pump, daemon=True).start()
print(json.dumps(len(w.recv_exact(s, 1 << 20))))
""" % port)
    d.proc.kill()
    d.proc.wait()
    # The app sees its connection end (EOF or reset), never a hang.
    out = held.run("""
s.settimeout(10)
try:
    while s.recv(1 << 16): pass
    print(json.dumps('eof'))
except ConnectionResetError:
    print(json.dumps('reset'))
""")
    assert out in ("eof", "reset"), out
    # The dead daemon left its socket files behind; a new one replaces them.
    assert os.path.exists(d.socket)
    d.start()
    assert env.run_client("demo", "print(json.dumps(w.tcp_connect(P, '127.0.0.1', %d)[1:]))"
                          % port, d) == [0, 0]


def socket_ownership(env):
    d = env.daemon({}).start()
    second = env.daemon({}, name="second")
    second.socket = d.socket
    second.start(expect_ready=False)
    assert second.proc.wait(10) != 0
    assert "already listening" in second.log(), second.log()
    assert d.alive() and os.path.exists(d.socket)
    # Not a socket: refused, and the file is left alone.
    third = env.daemon({}, name="third")
    os.makedirs(os.path.dirname(third.socket))
    with open(third.socket, "w") as f:
        f.write("precious")
    third.start(expect_ready=False)
    assert third.proc.wait(10) != 0 and "not a socket" in third.log()
    with open(third.socket) as f:
        assert f.read() == "precious"
    mode = os.stat(d.socket).st_mode & 0o777
    assert mode == 0o666, oct(mode)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    probe.connect(d.socket + ".dgram")
    probe.close()


if __name__ == "__main__":
    run({f.__name__: f for f in [check_command, reload, sigterm, killed_mid_transfer,
                                  socket_ownership]})
