"""Bulk TCP through a real netleashd, on the splice path (relay_splice.h):
connections that move more than kSpliceAfter bytes leave the copying path, and
must keep its guarantees: a stalled reader holds up only its own connection,
and the byte counts (close audit line, live bytes in `netleashctl status`)
stay exact across half-closes."""
import hashlib
import json
import os
import socket
import subprocess
import threading

from harness import policy, run, wait_for

MIB = 1 << 20
BLOCK = bytes((i * 7 + i // 251) % 256 for i in range(1 << 16))

# Run in the patched client: the same bytes and their digest.
CLIENT_PATTERN = """
import hashlib
BLOCK = bytes((i * 7 + i // 251) % 256 for i in range(1 << 16))
def pattern(size):
    whole, rest = divmod(size, len(BLOCK))
    return BLOCK * whole + BLOCK[:rest]
def drain(s, limit=None):
    h, n = hashlib.sha256(), 0
    while limit is None or n < limit:
        c = s.recv(1 << 18 if limit is None else min(1 << 18, limit - n))
        if not c:
            break
        h.update(c)
        n += len(c)
    return n, h.hexdigest()
"""


def pattern(size):
    whole, rest = divmod(size, len(BLOCK))
    return BLOCK * whole + BLOCK[:rest]


def digest(size):
    return hashlib.sha256(pattern(size)).hexdigest()


def netleashctl_status(d):
    out = subprocess.run([os.environ["NETLEASHCTL"], "--socket", d.socket, "status", "--json"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def slow_reader_isolated(env):
    """Connection A is read for 1 MiB (so it is spliced), then not at all while
    connection B moves 64 MiB through the same daemon; then A is read to its
    end. B must finish (within the client's generous deadline) and both must
    arrive intact: A's stall is absorbed by its own pipe and socket buffers."""
    sizes = {"a": 32 * MIB + 17, "b": 64 * MIB + 5}

    def source(conn):
        with conn:
            which = conn.recv(1).decode()
            try:
                conn.sendall(pattern(sizes[which]))
            except OSError:
                return
            conn.shutdown(socket.SHUT_WR)

    port = env.tcp_server(source)
    d = env.daemon({"demo.json": policy("demo", [{"cidr": "127.0.0.1", "ports": [port]}])}).start()
    out = env.run_client("demo", CLIENT_PATTERN + """
a, va, ra = w.tcp_connect(P, '127.0.0.1', %d)
a.sendall(b'a')
head = drain(a, 1 << 20)[0]
b, vb, rb = w.tcp_connect(P, '127.0.0.1', %d)
b.sendall(b'b')
nb, hb = drain(b)   # A is not read meanwhile
rest, _ = drain(a)
print(json.dumps({'verdicts': [va, ra, vb, rb], 'b': [nb, hb], 'a': head + rest}))
""" % (port, port), d, timeout=120)
    assert out["verdicts"] == [0, 0, 0, 0], out
    assert out["b"] == [sizes["b"], digest(sizes["b"])], out
    assert out["a"] == sizes["a"], out
    closes = wait_for(lambda: [a for a in d.audit() if a["op"] == "close"][1:] and
                      [a for a in d.audit() if a["op"] == "close"], what="two close lines")
    assert sorted(c["bytes_received"] for c in closes) == sorted(sizes.values()), closes
    assert all(c["bytes_sent"] == 1 for c in closes), closes


def exact_counts_half_close(env):
    """Y bytes down (the connection moves to splice), then X bytes up and the
    app's half-close; the server reads to EOF and keeps the connection open:
    live bytes in `netleashctl status` are X and Y; then the server closes
    and the close line says X and Y. Sizes are odd so that no pipe or buffer
    boundary hides an error."""
    up, down = 24 * MIB + 4321, 40 * MIB + 1234
    seen = {}
    release = threading.Event()

    def server(conn):
        with conn:
            conn.sendall(pattern(down))
            h, n = hashlib.sha256(), 0
            while True:
                c = conn.recv(1 << 18)
                if not c:
                    break
                h.update(c)
                n += len(c)
            seen["up"] = [n, h.hexdigest()]
            release.wait(60)

    port = env.tcp_server(server)
    d = env.daemon({"demo.json": policy("demo", [{"cidr": "127.0.0.1", "ports": [port]}])}).start()
    client = env.client_session("demo", d)
    client.run(CLIENT_PATTERN + "print(1)")
    out = client.run("""
s, v, r = w.tcp_connect(P, '127.0.0.1', %d)
got = drain(s, %d)
s.sendall(pattern(%d))
s.shutdown(socket.SHUT_WR)
print(json.dumps([v, r, got]))
""" % (port, down, up))
    assert out == [0, 0, [down, digest(down)]], out
    wait_for(lambda: "up" in seen, what="the server's EOF")
    assert seen["up"] == [up, digest(up)], seen
    live = netleashctl_status(d)["apps"]["demo"]
    assert live["open"]["outbound_tcp"] == 1, live
    assert (live["bytes_sent"], live["bytes_received"]) == (up, down), live
    release.set()
    assert client.run("print(json.dumps(drain(s)[0]))") == 0  # the server's close, as EOF
    close = d.wait_audit(lambda a: a["op"] == "close")[0]
    assert (close["bytes_sent"], close["bytes_received"]) == (up, down), close


if __name__ == "__main__":
    run({f.__name__: f for f in [slow_reader_isolated, exact_counts_half_close]})
