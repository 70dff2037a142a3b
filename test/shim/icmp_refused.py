#!/usr/bin/env python3
"""ICMP sockets through a real netleashd: refused, and audited. A patched ping (iputils) fails
and the audit log has a deny line, "op": "socket", "protocol": "icmp", naming its executable; a
patched python3 gets EACCES for an ICMP and an ICMPv6 datagram ("ping") socket and a raw ICMP
one, each with its line. A policy cannot allow ICMP: `"protocol": "icmp"` is refused by --check
with the reason (docs/protocol.md, "ICMP")."""

import json
import os
import shutil
import sys

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash, expect  # noqa: E402
from netleash_skip import skip  # noqa: E402

SOCKETS = r"""
import errno, socket
for family, kind, proto in ((socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP),
                            (socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6),
                            (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)):
    try:
        socket.socket(family, kind, proto)
        print("opened")
    except OSError as e:
        print(errno.errorcode[e.errno])
"""


def icmp_lines(nl, app):
    return [l for l in nl.audit_lines() if l.get("app") == app and l.get("protocol") == "icmp"]


def main():
    with Netleash(policies={"icmp-python": {"outbound": [{"cidr": "127.0.0.1"}]},
                            "icmp-ping": {"outbound": [{"cidr": "127.0.0.1"}]}}) as nl:
        python = nl.patch(os.path.realpath("/usr/bin/python3"), "icmp-python")
        r = nl.run([python, "-c", SOCKETS])
        expect(r.returncode == 0 and r.stdout.split() == ["EACCES"] * 3, "ICMP sockets are refused", r)
        lines = icmp_lines(nl, "icmp-python")
        expect(len(lines) == 3 and all(l["op"] == "socket" and l["verdict"] == "deny" and l["exe"] == python
                                       and "no rule can allow it" in l["reason"] for l in lines),
               f"one deny line per refused ICMP socket: {lines}")
        expect([("ICMPv6" in l["reason"]) for l in lines] == [False, True, False],
               f"the line says which ICMP: {lines}")

        # Policies cannot allow ICMP: the error says so.
        bad = os.path.join(nl.dir, "icmp-policies")
        os.makedirs(bad)
        with open(os.path.join(bad, "icmp-rule.json"), "w") as f:
            json.dump({"app": "icmp-rule", "outbound": [{"cidr": "127.0.0.1", "protocol": "icmp"}]}, f)
        r = nl.run([nl.netleashd, "--check", "--policy-dir", bad])
        expect(r.returncode != 0 and "ICMP is not relayed" in r.stderr, "a \"protocol\": \"icmp\" rule", r)

        ping = shutil.which("ping")
        if ping is None:
            skip("ping is not installed (iputils-ping): the patched ping was not tried")
        # A plain copy drops ping's file capability, which netleash-patch would not patch.
        plain = os.path.join(nl.dir, "ping")
        shutil.copy(os.path.realpath(ping), plain)
        patched = nl.patch(plain, "icmp-ping")
        r = nl.run([patched, "-c", "1", "-W", "1", "127.0.0.1"], timeout=30)
        expect(r.returncode != 0 and " 0% packet loss" not in r.stdout, "a patched ping fails", r)
        lines = icmp_lines(nl, "icmp-ping")
        expect(lines and all(l["op"] == "socket" and l["verdict"] == "deny" and l["exe"] == patched
                             for l in lines), f"ping's refusal is audited with its executable: {lines}")
    print("ok")


if __name__ == "__main__":
    main()
