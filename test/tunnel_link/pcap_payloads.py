"""TCP payloads of an Ethernet pcap file (what tcpdump -w writes), for the
replay test (it resends a captured first message) and the plaintext check."""
import struct


def tcp_payloads(path):
    """[(destination port, payload bytes)] of every IPv4 TCP segment with data."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    at = 24
    while at + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[at:at + 16])
        frame = data[at + 16:at + 16 + caplen]
        at += 16 + caplen
        if len(frame) < 34 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        if ip[9] != 6:
            continue
        tcp = ip[ihl:total]
        offset = (tcp[12] >> 4) * 4
        payload = tcp[offset:]
        if payload:
            out.append((struct.unpack(">H", tcp[2:4])[0], bytes(payload)))
    return out
