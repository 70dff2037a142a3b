"""Hostile clients: whatever they send, the daemon closes that one connection
(with a log line), stays up, and keeps serving well-formed clients."""
import os
import socket
import struct
import time

from harness import policy, run, wait_for, wire

CONFIG = {"request_timeout_ms": 1000}


def start(env, config=CONFIG):
    port = env.tcp_echo_server()
    d = env.daemon({"demo.json": policy("demo", [{"cidr": "127.0.0.1", "ports": [port]}])},
                   config=config).start()
    return d, port


def assert_serves(env, d, port):
    """A well-formed, identified client still gets a full round trip."""
    assert d.alive(), d.log()
    out = env.run_client("demo", """
s, v, r = w.tcp_connect(P, '127.0.0.1', %d, padding=4096)
s.sendall(b'still here'); r = w.read_result_ahead(s); got = w.recv_exact(s, 10)
print(json.dumps([v, r, got.decode()]))
""" % port, d)
    assert out == [0, 0, "still here"], out


def closed_by_daemon(sock, timeout=5):
    """True when the daemon closed the connection (EOF or reset) in time."""
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def send_stream(d, data):
    sock = wire.connect_stream(d.socket)
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the daemon may close before we finish writing: that is the point
    return sock


def malformed_stream(env):
    d, port = start(env)
    req = wire.request(wire.OP_CONNECT, "127.0.0.1", port, wire.PROTO_TCP)
    cases = {
        "bad magic": wire.request(wire.OP_CONNECT, "127.0.0.1", port, magic=0xDEADBEEF),
        "bad version": wire.request(wire.OP_CONNECT, "127.0.0.1", port, version=7),
        "absurd length": wire.request(wire.OP_CONNECT, "127.0.0.1", port, length=0xFFFFFFFF),
        "length below size": wire.request(wire.OP_CONNECT, "127.0.0.1", port, length=3),
        "unknown op": wire.request(77, "127.0.0.1", port),
        "seqpacket op on stream": wire.request(wire.OP_RESOLVE, name=b"localhost"),
        "no family": wire.request(wire.OP_CONNECT),
        "garbage": os.urandom(wire.REQUEST_SIZE),
        "a megabyte of garbage": os.urandom(1 << 20),
        "zeros": bytes(wire.REQUEST_SIZE * 3),
    }
    for name, data in cases.items():
        sock = send_stream(d, data)
        assert closed_by_daemon(sock), name
        sock.close()
    # Truncated: half a request, then the client closes / stays silent.
    sock = send_stream(d, req[:100])
    sock.close()
    silent = send_stream(d, req[:100])
    assert closed_by_daemon(silent, timeout=5), "truncated request not timed out"
    wait_for(lambda: "bad magic" in d.log() and "deadline" in d.log(), what="log lines")
    assert_serves(env, d, port)


def malformed_seqpacket(env):
    d, port = start(env)
    cases = {
        "short packet": b"\x01\x02\x03",
        "request minus one": wire.request(wire.OP_CHECK, "127.0.0.1", port, wire.PROTO_UDP)[:-1],
        "oversized packet": os.urandom(60000),
        "connect on seqpacket": wire.request(wire.OP_CONNECT, "127.0.0.1", port),
        "name without NUL": wire.request(wire.OP_RESOLVE, name=b"a" * 256),
        "empty name": wire.request(wire.OP_RESOLVE, name=b""),
        "check without protocol": wire.request(wire.OP_CHECK, "127.0.0.1", port, 0),
        "length mismatch": wire.request(wire.OP_CHECK, "127.0.0.1", port, wire.PROTO_UDP,
                                        length=wire.REQUEST_SIZE + 10),
        "empty packet": b"",
    }
    for name, data in cases.items():
        sock = wire.connect_seqpacket(d.socket)
        sock.send(data)
        assert closed_by_daemon(sock), name
        sock.close()
    assert_serves(env, d, port)


def hostile_datagrams(env):
    d, port = start(env)
    udp_port = env.udp_echo_server()
    d.write_policy("demo.json", policy("demo", [
        {"cidr": "127.0.0.1", "ports": [port]},
        {"cidr": "127.0.0.1", "ports": [udp_port], "protocol": "udp"}]))
    d.signal(__import__("signal").SIGHUP)
    wait_for(lambda: d.log().count("loaded 1 policies") >= 2, what="reload")
    out = env.run_client("demo", """
results = []
for packet in [b'x', bytes(23), w.datagram(None, 0, b'no default peer'),
               b'\\x09\\x00' + bytes(22) + b'odd family']:
    s, e = w.datagram_open(P)
    s.send(packet)
    s.settimeout(5)
    results.append(s.recv(100) == b'')
# garbage after a well-formed request on a fresh association is a datagram header
s, e = w.datagram_open(P, '127.0.0.1', %d)
s.send(w.datagram(None, 0, b'fine'))
results.append(s.recv(100)[24:].decode())
print(json.dumps(results))
""" % udp_port, d)
    assert out == [True, True, True, True, "fine"], out
    assert_serves(env, d, port)


def garbage_after_request(env):
    """Bytes beyond the announced padding are the application's data."""
    d, port = start(env)
    out = env.run_client("demo", """
s = w.connect_stream(P)
s.sendall(w.request(w.OP_CONNECT, '127.0.0.1', %d, w.PROTO_TCP, padding=10) + b'P' * 10 + b'DATA')
v = w.parse_reply(w.recv_exact(s, 16)); r = w.parse_reply(w.recv_exact(s, 16))
print(json.dumps([v[1], r[1], w.recv_exact(s, 4).decode()]))
""" % port, d)
    assert out == [0, 0, "DATA"], out
    # A check query followed by more packets: one reply, then the daemon closes.
    sock = wire.connect_seqpacket(d.socket)
    sock.send(wire.request(wire.OP_CHECK, "127.0.0.1", port, wire.PROTO_TCP))
    try:
        sock.send(os.urandom(500))
    except BrokenPipeError:
        pass  # already answered and closed
    try:
        kind, error = wire.parse_reply(sock.recv(64))
        assert kind == wire.KIND_RESULT and error == 13  # the driver has no identity
        assert closed_by_daemon(sock)
    except ConnectionResetError:
        # The daemon answered and closed while our extra packet sat unread in
        # its queue: the kernel then resets the connection, reply included.
        pass
    assert_serves(env, d, port)


def slow_request(env):
    """A Request that comes after the accept, in two pieces (each waited for
    until the daemon has read it): the daemon reads what is there, waits for
    the rest, then serves the connection as usual."""
    d, port = start(env)
    out = env.run_client("demo", """
import fcntl, struct, termios, time
def wait(condition):
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.001)
def fds():
    return len(os.listdir('/proc/%d/fd'))
def unread(sock):  # SIOCOUTQ: bytes the daemon has not read yet
    return struct.unpack('i', fcntl.ioctl(sock, termios.TIOCOUTQ, b'0000'))[0]
before = fds()
s = w.connect_stream(P)
wait(lambda: fds() > before)  # accepted, nothing to read yet
req = w.request(w.OP_CONNECT, '127.0.0.1', %d, w.PROTO_TCP)
s.sendall(req[:50])
wait(lambda: unread(s) == 0)  # the daemon took the first piece
s.sendall(req[50:])
verdict = w.parse_reply(w.recv_exact(s, w.REPLY_SIZE))[1]
result = w.parse_reply(w.recv_exact(s, w.REPLY_SIZE))[1]
s.sendall(b'late'); got = w.recv_exact(s, 4)
print(json.dumps([verdict, result, got.decode()]))
""" % (d.proc.pid, port), d)
    assert out == [0, 0, "late"], out
    assert "closing connection" not in d.log(), d.log()


def fd_flood(env):
    """Hundreds of idle connections that never send a request: the daemon
    stays responsive, serves others meanwhile and times every one out."""
    d, port = start(env, {"request_timeout_ms": 2000})
    idle = []
    for i in range(600):
        idle.append(wire.connect_stream(d.socket) if i % 2 else wire.connect_seqpacket(d.socket))
    started = time.monotonic()
    assert_serves(env, d, port)
    assert time.monotonic() - started < 2, "a flood of idle clients slowed the daemon down"
    for sock in idle:
        assert closed_by_daemon(sock, timeout=10), "idle connection never timed out"
        sock.close()
    assert_serves(env, d, port)


def pending_bound(env):
    """More idle connections than max_pending: the oldest make room."""
    d, port = start(env, {"request_timeout_ms": 60000, "max_pending": 100})
    idle = [wire.connect_stream(d.socket) for _ in range(300)]
    assert_serves(env, d, port)
    assert closed_by_daemon(idle[0], timeout=5)
    assert "too many pending" in d.log()
    for sock in idle:
        sock.close()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fd_exhaustion(env):
    """Out of descriptors: accept fails with EMFILE; the daemon must neither
    spin on its readable listener nor stop serving once descriptors free up."""
    port = env.tcp_echo_server()
    d = env.daemon({"demo.json": policy("demo", [{"cidr": "127.0.0.1", "ports": [port]}])},
                   config={"request_timeout_ms": 2000})
    d.start(fd_limit=64)
    idle = [wire.connect_stream(d.socket) for _ in range(120)]  # more than 64 fds
    wait_for(lambda: "pausing" in d.log(), what="EMFILE back-off")
    before = cpu_seconds(d.proc.pid)
    time.sleep(1)  # a measuring window, not a wait: a spinning loop burns ~1 s of CPU in it
    assert cpu_seconds(d.proc.pid) - before < 0.5, "the daemon spins while out of descriptors"
    for sock in idle:
        sock.close()
    assert_serves(env, d, port)


if __name__ == "__main__":
    run({f.__name__: f for f in [malformed_stream, malformed_seqpacket, hostile_datagrams,
                                  garbage_after_request, slow_request, fd_flood, pending_bound, fd_exhaustion]})
