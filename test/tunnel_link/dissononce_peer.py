#!/usr/bin/python3
"""An independent tunnel peer written from docs/tunnel.md with python3-dissononce,
talking to a real netleashd tunnel listener over TCP.

  unknown-key HOST:PORT STRANGER_KEYFILE RESPONDER_PUB   handshake with a key B does not know
  replay HOST:PORT FRAME_HEX                              resend a captured first message raw
  tamper HOST:PORT KEYFILE RESPONDER_PUB                  handshake, then a record with a flipped bit
  silent HOST:PORT                                        connect and send nothing (handshake timeout)
  interop HOST:PORT KEYFILE RESPONDER_PUB PORT REFUSED   request 127.0.0.1:PORT, HTTP through it;
                                                          127.0.0.1:REFUSED must get EACCES
The refusal modes expect the listener to close without answering. Exit 0 on success.
"""
import base64
import socket
import struct
import sys
import time

from dissononce.processing.impl.handshakestate import HandshakeState
from dissononce.processing.impl.symmetricstate import SymmetricState
from dissononce.processing.impl.cipherstate import CipherState
from dissononce.processing.handshakepatterns.interactive.IK import IKHandshakePattern
from dissononce.cipher.chachapoly import ChaChaPolyCipher
from dissononce.hash.blake2b import Blake2bHash
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.dh.x25519.public import PublicKey
from dissononce.dh.private import PrivateKey

PROLOGUE = b"netleash tunnel v1"
DATA, CLOSE = 0x01, 0x02
EACCES = 13


def tai64n_now():
    now = time.time_ns()
    return struct.pack(">QI", (1 << 62) + 10 + now // 10**9, now % 10**9)


def connect(target):
    host, port = target.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    return s


def read_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_frame(s):
    header = read_exact(s, 2)
    if header is None:
        return None
    return read_exact(s, struct.unpack(">H", header)[0])


def expect_closed(s, what):
    try:
        data = s.recv(1)
    except ConnectionResetError:
        data = b""
    assert data == b"", f"{what}: the listener answered {data!r}"


def handshake(s, keyfile, responder_public):
    private = base64.b64decode(open(keyfile).read().strip())
    me = X25519DH().generate_keypair(PrivateKey(private))
    hs = HandshakeState(SymmetricState(CipherState(ChaChaPolyCipher()), Blake2bHash()), X25519DH())
    hs.initialize(IKHandshakePattern(), True, PROLOGUE, s=me,
                  rs=PublicKey(base64.b64decode(responder_public)))
    first = bytearray()
    hs.write_message(tai64n_now(), first)
    s.sendall(struct.pack(">H", len(first)) + bytes(first))
    return hs


def finish_handshake(s, hs):
    reply = read_frame(s)
    assert reply is not None and len(reply) == 48, "no handshake reply"
    return hs.read_message(reply, bytearray())


def send_record(s, cs, record_type, body=b""):
    frame = cs.encrypt_with_ad(b"", bytes([record_type]) + body)
    s.sendall(struct.pack(">H", len(frame)) + frame)


def request_bytes(port, app=b"dissononce"):
    return bytes([1, 6, 4, len(app)]) + struct.pack(">H", port) + bytes([127, 0, 0, 1]) + bytes(12) + app


def receive_stream(s, cs):
    """All data records until the close record; fails on EOF without one."""
    data = b""
    while True:
        frame = read_frame(s)
        assert frame is not None, "stream truncated (no close record)"
        plain = cs.decrypt_with_ad(b"", frame)
        if plain[0] == CLOSE:
            return data
        assert plain[0] == DATA
        data += plain[1:]


def mode_unknown_key(target, keyfile, responder_public):
    s = connect(target)
    handshake(s, keyfile, responder_public)
    expect_closed(s, "unknown key")


def mode_replay(target, frame_hex):
    s = connect(target)
    s.sendall(bytes.fromhex(frame_hex))
    expect_closed(s, "replayed first message")


def mode_silent(target):
    s = connect(target)
    s.settimeout(20)  # the listener's handshake timeout is shorter
    expect_closed(s, "silent client")


def mode_tamper(target, keyfile, responder_public):
    s = connect(target)
    hs = handshake(s, keyfile, responder_public)
    cs_i2r, _ = finish_handshake(s, hs)
    frame = bytearray(cs_i2r.encrypt_with_ad(b"", bytes([DATA]) + request_bytes(80)))
    frame[5] ^= 0x01
    s.sendall(struct.pack(">H", len(frame)) + bytes(frame))
    expect_closed(s, "tampered record")


def mode_interop(target, keyfile, responder_public, port, refused_port):
    s = connect(target)
    cs_i2r, cs_r2i = finish_handshake(s, handshake(s, keyfile, responder_public))
    send_record(s, cs_i2r, DATA, request_bytes(int(port)))
    http = b"GET /interop HTTP/1.0\r\nX-Marker: dissononce\r\n\r\n"
    send_record(s, cs_i2r, DATA, http)
    send_record(s, cs_i2r, CLOSE)
    stream = receive_stream(s, cs_r2i)
    assert stream[:4] == b"\x01\x00\x00\x00", f"result {stream[:4]!r}"
    assert stream[4:].startswith(b"HTTP/1.0 200"), stream[:200]
    sys.stdout.write(stream[4:].decode(errors="replace"))
    s.close()

    s = connect(target)
    cs_i2r, cs_r2i = finish_handshake(s, handshake(s, keyfile, responder_public))
    send_record(s, cs_i2r, DATA, request_bytes(int(refused_port)))
    stream = receive_stream(s, cs_r2i)
    assert stream == bytes([1, 0, 0, EACCES]), f"refused port: result {stream!r}"
    send_record(s, cs_i2r, CLOSE)
    s.close()


def main():
    modes = {"unknown-key": mode_unknown_key, "replay": mode_replay, "tamper": mode_tamper, "silent": mode_silent,
             "interop": mode_interop}
    if len(sys.argv) < 2 or sys.argv[1] not in modes:
        sys.exit(__doc__)
    modes[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
