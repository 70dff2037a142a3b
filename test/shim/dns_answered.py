#!/usr/bin/env python3
"""DNS answered by the daemon, with real programs: a patched dig with no UDP rule asks a local
dnsmasq (over UDP and TCP) and netleashd answers instead, under the app's policy. An allowed name
is resolved by the daemon (through that dnsmasq, its configured upstream) and authorises a
connect by a patched python3 of the same app afterwards; a forbidden name gets NXDOMAIN and never
reaches dnsmasq (its query log shows nothing for it). "dns": "direct" keeps the old behaviour: a
UDP rule is needed, and the query reaches the server."""

import os
import re
import shutil
import sys

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash, wait_for  # noqa: E402
from local_dnsmasq import start_dnsmasq  # noqa: E402
from real_programs import expect  # noqa: E402

RECORDS = {"allowed.nltest": ["127.0.0.1", "::1"], "forbidden.nltest": "10.9.9.9",
           "probe.nltest": "10.0.0.1", "marker.nltest": "10.0.0.2"}
TTL = 300


def status_of(output):
    m = re.search(r"status: (\w+)", output)
    return m.group(1) if m else None


def answers(output):
    """(name, ttl, type, data) of each line of dig's ANSWER SECTION."""
    section = output.split(";; ANSWER SECTION:\n", 1)
    if len(section) < 2:
        return []
    rows = []
    for line in section[1].split("\n\n", 1)[0].splitlines():
        name, ttl, _, rtype, data = line.split()
        rows.append((name, int(ttl), rtype, data))
    return rows


def main():
    with Netleash(hosts={}, start=False) as nl:
        echo = nl.start_tcp_echo_server()
        query_log = os.path.join(nl.dir, "dnsmasq-queries.log")
        port = start_dnsmasq(nl, RECORDS, "probe.nltest", query_log, extra=[f"--local-ttl={TTL}"])

        def logged():
            with open(query_log) as f:
                return f.read()

        # The daemon's resolver uses this dnsmasq upstream, and its port counts as a DNS port (the
        # default is 53 only), so dig's queries to it are the daemon's to answer.
        nl.configure({"resolver": {"servers": [f"127.0.0.1:{port}"], "dns_ports": [port],
                                   "timeout_ms": 2000, "tries": 1}})
        nl.write_policy("dns-answered", {"outbound": [{"host": "allowed.nltest", "ports": [echo.port]}]})
        nl.write_policy("dns-direct", {"dns": "direct", "outbound": [
            {"cidr": "127.0.0.1", "ports": [port], "protocol": "udp"}]})
        nl.write_policy("dns-direct-norule", {"dns": "direct", "outbound": [
            {"host": "allowed.nltest", "ports": [echo.port]}]})
        nl.start_daemon()
        dig_real = os.path.realpath(shutil.which("dig"))
        dig = nl.patch(dig_real, "dns-answered")
        python = nl.patch(os.path.realpath("/usr/bin/python3"), "dns-answered")
        connect = ("import socket\n"
                   "try:\n"
                   f"    s = socket.create_connection(('127.0.0.1', {echo.port}), timeout=10)\n"
                   "    s.sendall(b'hi'); print('echo', s.recv(2).decode())\n"
                   "except PermissionError:\n"
                   "    print('denied')\n")

        def ask(exe, *args):
            return nl.run([exe, "@127.0.0.1", "-p", str(port), "+tries=1", "+time=5", *args])

        # No host rule has matched 127.0.0.1 yet: an address alone is not allowed.
        r = nl.run([python, "-c", connect])
        expect(r.returncode == 0 and r.stdout.strip() == "denied", "connect before any resolution", r)

        for transport in ([], ["+tcp"]):
            what = "TCP" if transport else "UDP"
            r = ask(dig, *transport, "allowed.nltest")
            expect(r.returncode == 0 and status_of(r.stdout) == "NOERROR", f"dig allowed ({what})", r)
            rows = answers(r.stdout)
            expect(len(rows) == 1 and rows[0][0] == "allowed.nltest." and rows[0][2:] == ("A", "127.0.0.1"),
                   f"dig allowed ({what}): one A record 127.0.0.1", r)
            expect(TTL - 30 <= rows[0][1] <= TTL, f"dig allowed ({what}): the upstream TTL {TTL}", r)
            r = ask(dig, *transport, "forbidden.nltest")
            expect(r.returncode == 0 and status_of(r.stdout) == "NXDOMAIN" and "10.9.9.9" not in r.stdout,
                   f"dig forbidden ({what}) gets NXDOMAIN", r)

        # The answer authorised the address for this app, as getaddrinfo would have.
        r = nl.run([python, "-c", connect])
        expect(r.returncode == 0 and r.stdout.strip() == "echo hi", "connect to the answered address", r)

        r = ask(dig, "AAAA", "allowed.nltest")
        expect(r.returncode == 0 and [row[2:] for row in answers(r.stdout)] == [("AAAA", "::1")],
               "dig AAAA allowed", r)
        # Other types of an allowed name: an empty NOERROR answer; the daemon looks up addresses only.
        for rtype in ("TXT", "MX"):
            r = ask(dig, rtype, "allowed.nltest")
            expect(r.returncode == 0 and status_of(r.stdout) == "NOERROR" and not answers(r.stdout),
                   f"dig {rtype} allowed: NOERROR, no records", r)

        # dnsmasq saw the daemon's lookup of the allowed name, never the forbidden one: a last
        # query straight to it marks the end of its log up to now.
        r = nl.run(["dig", "@127.0.0.1", "-p", str(port), "+short", "marker.nltest"], env={"NETLEASH_SOCKET": ""})
        expect(r.stdout.strip() == "10.0.0.2", "unpatched dig to dnsmasq", r)
        wait_for(lambda: "marker.nltest" in logged(), 10, "dnsmasq to log the marker query")
        expect("query[A] allowed.nltest" in logged(), "the daemon's resolver asked dnsmasq\n" + logged())
        expect("forbidden.nltest" not in logged(), "a forbidden name reached dnsmasq\n" + logged())

        audit = [a for a in nl.audit_lines() if a.get("app") == "dns-answered" and a.get("op") == "resolve"]
        denied = [a for a in audit if a.get("host") == "forbidden.nltest"]
        expect(len(denied) == 2 and all(a["verdict"] == "deny" and a["rule"] is None and a.get("reason")
                                        for a in denied), f"one deny line per forbidden query: {denied}")
        allowed = [a for a in audit if a.get("host") == "allowed.nltest" and a["verdict"] == "allow"]
        expect(len(allowed) == 5, f"one allow line per allowed query: {allowed}")
        expect("query[TXT]" not in logged() and "query[MX]" not in logged(), "only addresses are looked up")
        expect(not any(a.get("op") == "sendto" and a.get("verdict") == "deny" for a in nl.audit_lines()
                       if a.get("app") == "dns-answered"), "a datagram of dns-answered was denied")

        # "dns": "direct": queries are datagrams judged by the UDP rules, and reach the server.
        dig_direct = nl.patch(dig_real, "dns-direct", name="dig-direct")
        r = ask(dig_direct, "+short", "forbidden.nltest")
        expect(r.returncode == 0 and r.stdout.strip() == "10.9.9.9", "direct dig through its udp rule", r)
        wait_for(lambda: "forbidden.nltest" in logged(), 10, "dnsmasq to log the direct query")
        dig_norule = nl.patch(dig_real, "dns-direct-norule", name="dig-direct-norule")
        r = ask(dig_norule, "+short", "allowed.nltest")
        expect(r.returncode != 0 and "permission denied" in r.stdout and "127.0.0.1" not in r.stdout.splitlines(),
               "direct dig without a udp rule", r)
        expect(any(a.get("app") == "dns-direct-norule" and a.get("op") == "sendto" and a["verdict"] == "deny"
                   for a in nl.audit_lines()), "no audited deny for the direct dig without a rule")
    print("PASS: dns answered by the daemon")


if __name__ == "__main__":
    main()
