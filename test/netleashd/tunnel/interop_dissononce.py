#!/usr/bin/python3
"""Interoperability of the netleash tunnel with an independent Noise
implementation, python3-dissononce (Debian), following docs/tunnel.md only.

Runs tunnel_interop_driver (our C++ library on stdin/stdout, echoing data) as
responder and as initiator, with dissononce on the other side: the IK
handshake with the prologue and the TAI64N first payload, then data records
both ways, rekey records both ways, and close records. Also checks that the
driver refuses a tampered first message and a wrong prologue.

usage: interop_dissononce.py TUNNEL_INTEROP_DRIVER
"""
import base64
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time

try:
    from dissononce.processing.impl.handshakestate import HandshakeState
    from dissononce.processing.impl.symmetricstate import SymmetricState
    from dissononce.processing.impl.cipherstate import CipherState
    from dissononce.processing.handshakepatterns.interactive.IK import IKHandshakePattern
    from dissononce.cipher.chachapoly import ChaChaPolyCipher
    from dissononce.hash.blake2b import Blake2bHash
    from dissononce.dh.x25519.x25519 import X25519DH
    from dissononce.dh.x25519.public import PublicKey
except ImportError as error:
    sys.exit(f"interop_dissononce: python3-dissononce is missing ({error}); "
             "apt-get install python3-dissononce")

PROLOGUE = b"netleash tunnel v1"
DATA, CLOSE, REKEY = 0x01, 0x02, 0x03
MAX_RECORD_DATA = 65535 - 16 - 1
TAI64_UNIX_EPOCH = (1 << 62) + 10
TIMEOUT = 20


def tai64n_now():
    now = time.time_ns()
    return struct.pack(">QI", TAI64_UNIX_EPOCH + now // 10**9, now % 10**9)


def new_handshake():
    return HandshakeState(SymmetricState(CipherState(ChaChaPolyCipher()), Blake2bHash()), X25519DH())


def rekey(cs):
    # Rekey() of Noise rev 34 §4.2/§11.3: k = ENCRYPT(k, 2^64-1, "", zeros)[:32],
    # n unchanged. dissononce 0.34.3's CipherState.rekey() keeps all 48 bytes
    # and resets n, so it is done by hand here.
    nonce = cs._nonce
    cs.initialize_key(cs.cipher.encrypt(cs._key, 2**64 - 1, b"", bytes(32))[:32])
    cs.set_nonce(nonce)


class Peer:
    """The driver process, read by a thread so that neither pipe fills up."""

    def __init__(self, args):
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.buffer = bytearray()
        self.eof = False
        self.cond = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        while True:
            chunk = self.proc.stdout.read1(65536)
            with self.cond:
                if not chunk:
                    self.eof = True
                else:
                    self.buffer += chunk
                self.cond.notify_all()
            if not chunk:
                return

    def send_frame(self, message):
        assert 0 < len(message) <= 65535
        self.proc.stdin.write(struct.pack(">H", len(message)) + message)
        self.proc.stdin.flush()

    def read_exact(self, n):
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.buffer) >= n or self.eof, TIMEOUT):
                raise AssertionError("timed out waiting for the driver")
            if len(self.buffer) < n:
                return None
            out = bytes(self.buffer[:n])
            del self.buffer[:n]
            return out

    def read_frame(self):
        header = self.read_exact(2)
        if header is None:
            return None
        (length,) = struct.unpack(">H", header)
        body = self.read_exact(length)
        assert body is not None, "stream ended inside a frame"
        return body

    def finish(self):
        self.proc.stdin.close()
        code = self.proc.wait(TIMEOUT)
        return code, self.proc.stderr.read().decode()


class Records:
    """The record layer of docs/tunnel.md on top of two dissononce CipherStates."""

    def __init__(self, peer, send_cs, recv_cs):
        self.peer, self.send_cs, self.recv_cs = peer, send_cs, recv_cs

    def send(self, record_type, body=b""):
        self.peer.send_frame(self.send_cs.encrypt_with_ad(b"", bytes([record_type]) + body))
        if record_type == REKEY:
            rekey(self.send_cs)

    def send_data(self, data):
        for at in range(0, len(data), MAX_RECORD_DATA):
            self.send(DATA, data[at:at + MAX_RECORD_DATA])

    def receive(self):
        """Returns (type, body); follows rekey records; None at EOF."""
        frame = self.peer.read_frame()
        if frame is None:
            return None
        plaintext = self.recv_cs.decrypt_with_ad(b"", frame)
        record_type, body = plaintext[0], plaintext[1:]
        if record_type == REKEY:
            assert body == b""
            rekey(self.recv_cs)
        return record_type, body

    def receive_data(self, n):
        data, rekeys = bytearray(), 0
        while len(data) < n:
            record = self.receive()
            assert record is not None, "driver closed early"
            if record[0] == REKEY:
                rekeys += 1
                continue
            assert record[0] == DATA, f"unexpected record {record[0]}"
            data += record[1]
        return bytes(data), rekeys


def exchange(records):
    """Echo traffic both ways, with rekeys, then close; returns driver rekeys."""
    payloads = [b"hello", os.urandom(1), os.urandom(200_000), b"", b"after rekey"]
    driver_rekeys = 0
    for index, payload in enumerate(payloads):
        if index == 3:
            records.send(REKEY)
            continue
        records.send_data(payload)
        echoed, rekeys = records.receive_data(len(payload))
        assert echoed == payload, f"echo mismatch for payload {index}"
        driver_rekeys += rekeys
    records.send(CLOSE)
    record = records.receive()
    while record is not None and record[0] == REKEY:
        record = records.receive()
    assert record == (CLOSE, b""), f"expected close, got {record}"
    assert records.peer.read_frame() is None, "bytes after close"
    return driver_rekeys


def python_initiates(driver, key_file, driver_public, me):
    peer = Peer([driver, "respond", key_file, base64.b64encode(me.public.data).decode(), "3"])
    hs = new_handshake()
    hs.initialize(IKHandshakePattern(), True, PROLOGUE, s=me, rs=PublicKey(driver_public))
    first = bytearray()
    hs.write_message(tai64n_now(), first)
    assert len(first) == 108, len(first)
    peer.send_frame(bytes(first))
    reply = peer.read_frame()
    assert reply is not None and len(reply) == 48, "no valid handshake reply"
    payload = bytearray()
    cs_i2r, cs_r2i = hs.read_message(reply, payload)
    assert payload == b""
    rekeys = exchange(Records(peer, cs_i2r, cs_r2i))
    code, errors = peer.finish()
    assert code == 0, f"driver exit {code}: {errors}"
    assert rekeys >= 2, f"driver sent only {rekeys} rekey records"
    print(f"ok: dissononce initiator -> C++ responder ({rekeys} rekeys from the driver)")


def python_responds(driver, key_file, driver_public, me):
    peer = Peer([driver, "initiate", key_file, base64.b64encode(me.public.data).decode(), "2"])
    hs = new_handshake()
    hs.initialize(IKHandshakePattern(), False, PROLOGUE, s=me)
    first = peer.read_frame()
    assert first is not None and len(first) == 108
    payload = bytearray()
    hs.read_message(first, payload)
    assert hs.rs.data == driver_public, "initiator static key is not the driver's"
    seconds, nanoseconds = struct.unpack(">QI", bytes(payload))
    assert nanoseconds < 10**9 and abs(seconds - TAI64_UNIX_EPOCH - time.time()) < 60
    reply = bytearray()
    cs_i2r, cs_r2i = hs.write_message(b"", reply)
    peer.send_frame(bytes(reply))
    rekeys = exchange(Records(peer, cs_r2i, cs_i2r))
    code, errors = peer.finish()
    assert code == 0, f"driver exit {code}: {errors}"
    print(f"ok: C++ initiator -> dissononce responder ({rekeys} rekeys from the driver)")


def driver_refuses(driver, key_file, driver_public, me, prologue, tamper, expected):
    peer = Peer([driver, "respond", key_file, base64.b64encode(me.public.data).decode()])
    hs = new_handshake()
    hs.initialize(IKHandshakePattern(), True, prologue, s=me, rs=PublicKey(driver_public))
    first = bytearray()
    hs.write_message(tai64n_now(), first)
    if tamper:
        first[-1] ^= 1
    peer.send_frame(bytes(first))
    assert peer.read_frame() is None, "driver answered a bad first message"
    code, errors = peer.finish()
    assert code == 1 and expected in errors, f"exit {code}: {errors}"
    print(f"ok: driver refuses {'a tampered first message' if tamper else 'another prologue'}")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    driver = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        key_file = os.path.join(tmp, "driver.key")
        out = subprocess.run([driver, "genkey", key_file], check=True, capture_output=True,
                             text=True, timeout=TIMEOUT).stdout.strip()
        driver_public = base64.b64decode(out, validate=True)
        assert len(driver_public) == 32
        me = X25519DH().generate_keypair()
        python_initiates(driver, key_file, driver_public, me)
        python_responds(driver, key_file, driver_public, me)
        driver_refuses(driver, key_file, driver_public, me, PROLOGUE, True, "handshake failed")
        driver_refuses(driver, key_file, driver_public, me, b"netleash tunnel v2", False,
                       "handshake failed")


if __name__ == "__main__":
    main()
