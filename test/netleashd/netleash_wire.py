"""Client side of the netleash wire protocol (src/common/wire.h), for tests.

Plain stdlib: the integration tests speak the protocol directly to a real
netleashd over AF_UNIX, from a patched python3 (its /proc/PID/exe carries the
identity record), so these helpers must not depend on anything else.
"""
import socket
import struct

MAGIC = 0x314C534E
VERSION = 1
OP_CONNECT, OP_DATAGRAM_OPEN, OP_RESOLVE, OP_CHECK = 1, 2, 3, 4
OP_EXPLAIN = 7
OP_JOIN_TREE = 8
TREE_LISTENER_FD = 1009  # seal::kTreeListenerFd
TREE_OPTION = 0x4e4c5332  # seal::kTreeOption
FLAG_BOUND, FLAG_LISTEN = 1 << 0, 1 << 3
PROTO_ICMP, PROTO_TCP, PROTO_UDP = 1, 6, 17
KIND_VERDICT, KIND_RESULT, KIND_RESOLVE = 1, 2, 3
KIND_REASON = 5
REPLY_CLIENT = 1 << 0  # Reply.flags: a bound kDatagramOpen became a client association
REQUEST_SIZE = 376  # test_wire_check.cc checks this against sizeof(wire::Request)
REPLY_SIZE = 16
RESOLVE_REPLY_SIZE = 16 + 256 + 32 * 24  # sizeof(wire::ResolveReply)
REASON_REPLY_SIZE = 512  # sizeof(wire::ReasonReply)
HEADER_SIZE = 24
STATUS_OK, STATUS_NONAME, STATUS_AGAIN, STATUS_FAIL, STATUS_NODATA = 0, 1, 2, 3, 4


def pack_address(host=None, port=0):
    """wire::Address for an IP literal (or family 0 when host is None)."""
    if host is None:
        return bytes(24)
    if ":" in host:
        family, raw = socket.AF_INET6, socket.inet_pton(socket.AF_INET6, host)
    else:
        family, raw = socket.AF_INET, socket.inet_pton(socket.AF_INET, host)
    return struct.pack("<H", family) + struct.pack(">H", port) + struct.pack("<I", 0) + raw.ljust(16, b"\0")


def unpack_address(data):
    family = struct.unpack_from("<H", data, 0)[0]
    port = struct.unpack_from(">H", data, 2)[0]
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, data[8:12]), port
    if family == socket.AF_INET6:
        return socket.inet_ntop(socket.AF_INET6, data[8:24]), port
    return None, port


def request(op, host=None, port=0, protocol=0, padding=0, name=b"", hint_family=0,
            magic=MAGIC, version=VERSION, length=None, backlog=0, flags=0, local=None):
    """A Request; every field overridable so tests can build hostile ones."""
    if length is None:
        length = REQUEST_SIZE + padding
    head = struct.pack("<IHHIB3x", magic, version, op, length, protocol)
    options = bytes(32)
    hints = struct.pack("<iiii", hint_family, 0, 0, 0)
    tail = struct.pack("<iI", backlog, flags) + pack_address(*(local or (None,)))
    body = head + pack_address(host, port) + options + hints + name.ljust(256, b"\0")[:256] + tail
    assert len(body) == REQUEST_SIZE
    return body


def parse_reply(data):
    magic, kind, _, error, _ = struct.unpack("<IHHiI", data)
    assert magic == MAGIC, hex(magic)
    return kind, error


def reply_flags(data):
    """Reply.flags (REPLY_CLIENT) of a packed Reply."""
    return struct.unpack_from("<H", data, 6)[0]


def recv_exact(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def connect_stream(path, timeout=10):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    return sock


def connect_seqpacket(path, timeout=10):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.settimeout(timeout)
    sock.connect(path + ".dgram")
    return sock


def tcp_connect(path, host, port, padding=0):
    """Runs the kConnect handshake. Returns (sock, verdict, result); result is
    None when the verdict was a refusal, and also for a padded connect, whose
    success Result comes only ahead of the first data (read_result_ahead)."""
    sock = connect_stream(path)
    sock.sendall(request(OP_CONNECT, host, port, PROTO_TCP, padding=padding) + bytes(padding))
    kind, verdict = parse_reply(recv_exact(sock, REPLY_SIZE))
    assert kind == KIND_VERDICT, kind
    if verdict != 0 or padding:
        return sock, verdict, None
    kind, result = parse_reply(recv_exact(sock, REPLY_SIZE))
    assert kind == KIND_RESULT, kind
    return sock, verdict, result


def read_result_ahead(sock):
    """The Result of a padded connect, read off the front of the data."""
    kind, result = parse_reply(recv_exact(sock, REPLY_SIZE))
    assert kind == KIND_RESULT, kind
    return result


def resolve(path, name, family=0):
    """kResolve: returns (status, ttl, canonical name, [addresses])."""
    sock = connect_seqpacket(path)
    sock.send(request(OP_RESOLVE, name=name.encode(), hint_family=family))
    data = sock.recv(RESOLVE_REPLY_SIZE + 1)
    sock.close()
    magic, kind, count, status, ttl = struct.unpack_from("<IHHiI", data)
    assert magic == MAGIC and kind == KIND_RESOLVE
    canonical = data[16:16 + 256].split(b"\0")[0].decode()
    addrs = [unpack_address(data[272 + 24 * i:296 + 24 * i])[0] for i in range(count)]
    return status, ttl, canonical, addrs


def check(path, host, port, protocol):
    sock = connect_seqpacket(path)
    sock.send(request(OP_CHECK, host, port, protocol))
    kind, error = parse_reply(sock.recv(64))
    sock.close()
    assert kind == KIND_RESULT
    return error


def explain(path, host=None, port=0, protocol=PROTO_TCP, name=b"", listen=False):
    """kExplain: (would the daemon allow it now, its reason) for a destination, a name or a listen."""
    sock = connect_seqpacket(path)
    sock.send(request(OP_EXPLAIN, host, port, protocol, name=name, flags=FLAG_LISTEN if listen else 0))
    data = sock.recv(REASON_REPLY_SIZE + 1)
    sock.close()
    assert len(data) == REASON_REPLY_SIZE, len(data)
    magic, kind, length, allow = struct.unpack_from("<IHHi", data)
    assert magic == MAGIC and kind == KIND_REASON
    return allow == 1, data[16:16 + length].decode()


def datagram_open(path, host=None, port=0):
    """kDatagramOpen: returns (sock, result error)."""
    sock = connect_seqpacket(path)
    sock.send(request(OP_DATAGRAM_OPEN, host, port, PROTO_UDP))
    kind, error = parse_reply(sock.recv(64))
    assert kind == KIND_RESULT
    return sock, error


def datagram(host, port, payload):
    return pack_address(host, port) + payload


def probe_tree():
    """prctl(kTreeOption): proves to the daemon which process tree this
    process is in (the shim does it before a process's first request).
    Returns 0 when the daemon placed it, else an errno."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return 0 if prctl(TREE_OPTION, 0, 0, 0, 0) == 0 else ctypes.get_errno()


def join_tree(path):
    """What the shim's constructor does in the first process of a tree: hand
    the tree filter's listener to the daemon (kJoinTree), close it, probe.
    The tests' patched python3 runs a stub shim, so the tests do it."""
    import os
    try:
        listener = os.readlink("/proc/self/fd/%d" % TREE_LISTENER_FD) == "anon_inode:seccomp notify"
    except OSError:
        listener = False
    if listener:
        with connect_stream(path) as s:
            socket.send_fds(s, [request(OP_JOIN_TREE)], [TREE_LISTENER_FD])
        os.close(TREE_LISTENER_FD)
    return probe_tree()
