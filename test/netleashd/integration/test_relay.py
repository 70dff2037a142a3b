"""TCP and UDP through a real netleashd: byte-exact relaying, half-close,
errno mapping, policy verdicts and their audit lines, resolution, limits."""
import errno
import socket

from harness import policy, run, wire

ALL_PORTS = ["1-65535"]


def relay_exact(env):
    port = env.tcp_echo_server()
    d = env.daemon({"demo.json": policy("demo", [{"cidr": "127.0.0.1", "ports": [port]}])}).start()
    out = env.run_client("demo", """
import threading, hashlib
s, v, r = w.tcp_connect(P, '127.0.0.1', %d, padding=4096)
data = os.urandom(16 << 20)
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send); t.start()
r = w.read_result_ahead(s)
got = bytearray()
while True:
    c = s.recv(1 << 16)
    if not c: break
    got += c
t.join()
print(json.dumps({'v': v, 'r': r, 'ok': bytes(got) == data, 'n': len(got)}))
""" % port, d)
    assert out == {"v": 0, "r": 0, "ok": True, "n": 16 << 20}, out
    close = d.wait_audit(lambda a: a["op"] == "close")[0]
    assert close["bytes_sent"] == 16 << 20 and close["bytes_received"] == 16 << 20, close
    connect = [a for a in d.audit() if a["op"] == "connect"][0]
    assert connect["verdict"] == "allow" and connect["rule"] == 0 and connect["app"] == "demo"
    assert connect["dst"] == "127.0.0.1:%d" % port


def connect_errors(env):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # bound, never listened, closed: nobody listens on that port
    d = env.daemon({"demo.json": policy("demo", [{"cidr": "127.0.0.0/8", "ports": ALL_PORTS}])})
    d.start()
    out = env.run_client("demo", """
s, v, r = w.tcp_connect(P, '127.0.0.1', %d)
print(json.dumps([v, r]))
""" % port, d)
    assert out == [0, errno.ECONNREFUSED], out


def verdicts(env):
    port = env.tcp_echo_server()
    d = env.daemon({"demo.json": policy("demo", [{"cidr": "127.0.0.1", "ports": [port]}])}).start()
    code = """
s, v, r = w.tcp_connect(P, '127.0.0.1', %d)
s2, v2, r2 = w.tcp_connect(P, '127.0.0.1', %d)
print(json.dumps([v, v2]))
""" % (port, port + 1 if port < 65535 else port - 1)
    assert env.run_client("demo", code, d) == [0, errno.EACCES]
    assert env.run_client("stranger", code, d) == [errno.EACCES, errno.EACCES]
    # The test driver's own python carries no identity record.
    sock, verdict, _ = wire.tcp_connect(d.socket, "127.0.0.1", port)
    assert verdict == errno.EACCES
    reasons = [(a["app"], a["verdict"], a["reason"]) for a in d.audit() if a["op"] == "connect"]
    assert reasons[0][:2] == ("demo", "allow")
    assert reasons[1][:2] == ("demo", "deny")
    assert reasons[2][0] == "stranger" and "policy" in reasons[2][2], reasons
    assert reasons[-1][0] is None and "identity record" in reasons[-1][2], reasons


def host_rules(env):
    port = env.tcp_echo_server()
    d = env.daemon({"demo.json": policy("demo", [{"host": "localhost", "ports": [port]}])}).start()
    out = env.run_client("demo", """
before = w.tcp_connect(P, '127.0.0.1', %d)[1]
status, ttl, canon, addrs = w.resolve(P, 'localhost', socket.AF_INET)
denied = w.resolve(P, 'example.com')[0]
after = w.tcp_connect(P, '127.0.0.1', %d)[1:]
print(json.dumps([before, status, ttl, addrs, denied, after]))
""" % (port, port), d)
    before, status, ttl, addrs, denied, after = out
    assert before == 13 and status == wire.STATUS_OK and addrs == ["127.0.0.1"], out
    assert ttl > 0 and denied == wire.STATUS_NONAME and after == [0, 0], out
    connects = [a for a in d.audit() if a["op"] == "connect"]
    assert connects[-1]["host"] == "localhost" and connects[-1]["rule"] == 0, connects
    resolves = [a for a in d.audit() if a["op"] == "resolve"]
    assert [r["verdict"] for r in resolves] == ["allow", "deny"], resolves


def resolver_config(env):
    hosts = env.tmp + "/hosts"
    with open(hosts, "w") as f:
        f.write("127.0.0.1 service.test.internal\n")
    d = env.daemon({"demo.json": policy("demo", [{"host": "*.test.internal"}])},
                   config={"resolver": {"hosts_file": hosts, "servers": ["127.0.0.1:9"],
                                        "timeout_ms": 200, "tries": 1}}).start()
    out = env.run_client("demo", """
print(json.dumps([w.resolve(P, 'service.test.internal', socket.AF_INET),
                  w.resolve(P, 'absent.test.internal')[0]]))
""", d)
    (status, ttl, _, addrs), absent = out
    assert status == wire.STATUS_OK and addrs == ["127.0.0.1"], out
    # Nothing answers on 127.0.0.1:9: a temporary failure, not a crash or a hang.
    assert absent in (wire.STATUS_AGAIN, wire.STATUS_NONAME), out


def udp(env):
    port = env.udp_echo_server("127.0.0.1")
    other = env.udp_echo_server("127.0.0.1")
    d = env.daemon({"demo.json": policy("demo", [
        {"cidr": "127.0.0.1", "ports": [port], "protocol": "udp"}])}).start()
    out = env.run_client("demo", """
s, e = w.datagram_open(P)
s.send(w.datagram('127.0.0.1', %d, b'ping'))
d = s.recv(70000)
src = w.unpack_address(d[:24])
s.send(w.datagram('127.0.0.1', %d, b'nope'))
s.settimeout(0.3)
try:
    extra = s.recv(100).hex()
except socket.timeout:
    extra = None
checks = [w.check(P, '127.0.0.1', %d, w.PROTO_UDP), w.check(P, '127.0.0.1', %d, w.PROTO_UDP)]
why = [w.explain(P, '127.0.0.1', %d, w.PROTO_UDP), w.explain(P, '127.0.0.1', %d, w.PROTO_UDP),
       w.explain(P, name=b'example.com'), w.explain(P, '127.0.0.1', %d, w.PROTO_UDP, listen=True)]
# Bound with no inbound rule: a client that chose its source port (dig -b), told so by
# REPLY_CLIENT; checked per datagram and heard only from peers it sent to, like s above.
b = w.connect_seqpacket(P)
b.send(w.request(w.OP_DATAGRAM_OPEN, '127.0.0.1', 5353, w.PROTO_UDP, flags=w.FLAG_BOUND))
reply = b.recv(64)
b.send(w.datagram('127.0.0.1', %d, b'nope'))
b.send(w.datagram('127.0.0.1', %d, b'bound'))
b.settimeout(5)
bound = [w.parse_reply(reply)[1], w.reply_flags(reply) == w.REPLY_CLIENT, b.recv(100)[24:].decode()]
print(json.dumps([e, list(src), d[24:].decode(), extra, checks, why, bound]))
""" % (port, other, port, other, port, other, port, other, port), d)
    # kExplain (NETLEASH_DEBUG's "why"): the reason, never an audit line.
    assert out == [0, ["127.0.0.1", port], "ping", None, [0, 13],
                   [[True, "outbound rule 0 (127.0.0.1/32) allows 127.0.0.1:%d/udp" % port],
                    [False, "no rule matches 127.0.0.1:%d/udp" % other],
                    [False, "no rule allows resolving this name"],
                    [False, "no inbound rule for 127.0.0.1:%d/udp" % port]],
                   [0, True, "bound"]], out
    assert not [a for a in d.audit() if a["op"] in ("resolve", "listen")], d.audit()
    sendtos = [(a["dst"], a["verdict"]) for a in d.audit() if a["op"] == "sendto"]
    assert ("127.0.0.1:%d" % port, "allow") in sendtos and ("127.0.0.1:%d" % other, "deny") in sendtos


def limits(env):
    port = env.tcp_echo_server()
    d = env.daemon({"demo.json": policy("demo", [{"cidr": "127.0.0.1", "ports": [port]}])},
                   config={"max_connections_per_app": 2}).start()
    out = env.run_client("demo", """
held = [w.tcp_connect(P, '127.0.0.1', %d) for _ in range(3)]
print(json.dumps([v for _, v, _ in held]))
""" % port, d)
    assert out == [0, 0, errno.ENOBUFS], out
    denied = d.wait_audit(lambda a: a["op"] == "connect" and a["verdict"] == "deny")[0]
    assert "limit" in denied["reason"], denied
    # The slots come back when the connections close.
    d.wait_audit(lambda a: a["op"] == "close" and True, what="close lines")
    out = env.run_client("demo", """
print(json.dumps(w.tcp_connect(P, '127.0.0.1', %d)[1]))
""" % port, d)
    assert out == 0


def syn_dropping_port(env):
    """A port whose listener never answers a SYN (its backlog is full)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    env.closers.append(srv.close)
    port = srv.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))
    env.closers.append(filler.close)
    return port


def connect_abandoned(env):
    """An app that gives up on a slow connect (closes its socket after the
    Verdict) ends that connect at once: its connection slot comes back long
    before the connect timeout."""
    slow = syn_dropping_port(env)
    port = env.tcp_echo_server()
    d = env.daemon({"demo.json": policy("demo", [{"cidr": "127.0.0.1", "ports": [slow, port]}])},
                   config={"connect_timeout_ms": 60000, "max_connections_per_app": 1}).start()
    out = env.run_client("demo", """
import time
s, v, r = w.tcp_connect(P, '127.0.0.1', %d, padding=4096)
s.close()
deadline = time.monotonic() + 10
while True:
    s, v, r = w.tcp_connect(P, '127.0.0.1', %d)
    if v == 0 or time.monotonic() > deadline:
        break
    time.sleep(0.01)
print(json.dumps([v, r]))
""" % (slow, port), d)
    assert out == [0, 0], out


def connect_timeout(env):
    """An upstream that never answers the SYN: the app gets ETIMEDOUT from the
    daemon's own timer (a listener with a full backlog drops SYNs)."""
    port = syn_dropping_port(env)
    d = env.daemon({"demo.json": policy("demo", [{"cidr": "127.0.0.1", "ports": [port]}])},
                   config={"connect_timeout_ms": 500}).start()
    out = env.run_client("demo", """
import time
t = time.monotonic()
s, v, r = w.tcp_connect(P, '127.0.0.1', %d)
print(json.dumps([v, r, time.monotonic() - t]))
""" % port, d)
    verdict, result, elapsed = out
    assert (verdict, result) == (0, errno.ETIMEDOUT) and 0.4 < elapsed < 5, out


def resolver_bounds(env):
    """A DNS server that never answers: lookups beyond max_in_flight +
    max_queued fail at once with EAI_AGAIN, and the loop keeps serving."""
    dead_dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dead_dns.bind(("127.0.0.1", 0))
    env.closers.append(dead_dns.close)
    hosts = env.tmp + "/empty-hosts"
    open(hosts, "w").close()
    port = env.tcp_echo_server()
    d = env.daemon({"demo.json": policy("demo", [{"cidr": "127.0.0.1", "ports": [port]}],
                                         resolve="any")},
                   config={"resolver": {"servers": ["127.0.0.1:%d" % dead_dns.getsockname()[1]],
                                        "hosts_file": hosts, "timeout_ms": 3000, "tries": 1,
                                        "max_in_flight": 2, "max_queued": 2}}).start()
    out = env.run_client("demo", """
import threading, time
results = {}
def lookup(i):
    t = time.monotonic()
    status = w.resolve(P, 'n%%d.example' %% i)[0]
    results[i] = (status, time.monotonic() - t)
threads = [threading.Thread(target=lookup, args=(i,)) for i in range(10)]
for t in threads: t.start()
time.sleep(0.3)
t = time.monotonic()
s, v, r = w.tcp_connect(P, '127.0.0.1', %d)
s.sendall(b'x'); w.recv_exact(s, 1)
round_trip = time.monotonic() - t
for t in threads: t.join()
print(json.dumps([round_trip, sorted(results.values())]))
""" % port, d)
    round_trip, results = out
    assert round_trip < 1, out
    fast = [r for r in results if r[1] < 1]
    assert len(fast) >= 6 and all(r[0] == wire.STATUS_AGAIN for r in results), out


if __name__ == "__main__":
    run({f.__name__: f for f in [relay_exact, connect_errors, verdicts, host_rules,
                                  resolver_config, udp, limits, connect_abandoned, connect_timeout,
                                  resolver_bounds]})
