#!/usr/bin/env python3
"""More real programs through the shim and a real netleashd: wget, python3's
asyncio, node (a libuv event loop: threadpool getaddrinfo, non-blocking
connect) and dig against a local dnsmasq through a UDP rule (its port is not a
DNS port of the daemon, so its datagrams are judged like any other; DNS that
the daemon answers: dns_answered.py). Each reaches what its policy allows, and
is refused (and audited) elsewhere."""

import os
import shutil
import sys

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash  # noqa: E402
from local_dnsmasq import start_dnsmasq  # noqa: E402
from real_programs import BODY, HttpServer, expect  # noqa: E402


def main():
    with Netleash(hosts={"web.nltest": ["127.0.0.1"]}, start=False) as nl:
        root = os.path.join(nl.dir, "www")
        os.makedirs(root)
        with open(os.path.join(root, "hello.txt"), "w") as f:
            f.write(BODY)
        http_server = nl.add_server(HttpServer(root))
        echo = nl.start_tcp_echo_server()
        denied = nl.start_tcp_echo_server()
        dns_port = start_dnsmasq(nl, {"example.nltest": "10.1.2.3"}, "example.nltest")
        rules = [{"host": "web.nltest", "ports": [http_server.port]},
                 {"cidr": "127.0.0.1", "ports": [echo.port]},
                 {"cidr": "127.0.0.1", "ports": [dns_port], "protocol": "udp"}]
        for app in ("more-wget", "more-python", "more-node", "more-dig"):
            nl.write_policy(app, {"outbound": rules})
        nl.start_daemon()
        url = f"http://web.nltest:{http_server.port}/hello.txt"
        checked = []

        exe = nl.patch(os.path.realpath(shutil.which("wget")), "more-wget")
        r = nl.run([exe, "-q", "-O", "-", "--tries=1", "--timeout=10", url])
        expect(r.returncode == 0 and r.stdout == BODY, "wget by name", r)
        r = nl.run([exe, "-q", "-O", "-", "--tries=1", "--timeout=10",
                    f"http://127.0.0.1:{denied.port}/"])
        expect(r.returncode == 4, "wget to a denied port must fail with a network error", r)
        checked.append("wget")

        exe = nl.patch(os.path.realpath("/usr/bin/python3"), "more-python")
        script = f"""
import asyncio
async def main():
    reader, writer = await asyncio.open_connection("127.0.0.1", {echo.port})
    writer.write(b"asyncio"); await writer.drain()
    assert await reader.readexactly(7) == b"asyncio"
    writer.close(); await writer.wait_closed()
    try:
        await asyncio.open_connection("127.0.0.1", {denied.port})
        raise SystemExit("denied connect succeeded")
    except PermissionError:
        pass
    reader, writer = await asyncio.open_connection("web.nltest", {http_server.port})
    writer.write(b"GET /hello.txt HTTP/1.0\\r\\nHost: web.nltest\\r\\n\\r\\n"); await writer.drain()
    assert (await reader.read()).endswith({BODY.encode()!r})
    print("ok")
asyncio.run(main())
"""
        r = nl.run([exe, "-c", script])
        expect(r.returncode == 0 and r.stdout.strip() == "ok", "python3 asyncio", r)
        checked.append("python3-asyncio")

        exe = nl.patch(os.path.realpath(shutil.which("node")), "more-node")
        script = f"""
const http = require('http'), net = require('net');
http.get({url!r}, res => {{
  let body = '';
  res.on('data', d => body += d);
  res.on('end', () => {{
    if (body !== {BODY!r}) {{ console.log('bad body ' + body); process.exit(1); }}
    const s = net.connect({denied.port}, '127.0.0.1');
    s.on('connect', () => {{ console.log('denied connect succeeded'); process.exit(1); }});
    s.on('error', e => {{ console.log(e.code); process.exit(0); }});
  }});
}}).on('error', e => {{ console.log('http error ' + e.message); process.exit(1); }});
"""
        r = nl.run([exe, "-e", script])
        expect(r.returncode == 0 and r.stdout.strip() == "EACCES", "node http.get and denied connect", r)
        checked.append("node")

        exe = nl.patch(os.path.realpath(shutil.which("dig")), "more-dig")
        r = nl.run([exe, "@127.0.0.1", "-p", str(dns_port), "+short", "+tries=1", "+time=5",
                    "example.nltest"])
        expect(r.returncode == 0 and r.stdout.strip() == "10.1.2.3", "dig through the udp rule", r)
        r = nl.run([exe, "@127.0.0.1", "-p", str(echo.port), "+short", "+tries=1", "+time=2",
                    "example.nltest"])
        expect(r.returncode != 0 and "10.1.2.3" not in r.stdout, "dig to a port without a udp rule", r)
        checked.append("dig")

        audit = nl.audit_lines()
        for app in ("more-wget", "more-python", "more-node"):
            expect(any(a.get("app") == app and a.get("verdict") == "deny" and a.get("op") == "connect"
                       for a in audit), f"no audited deny for {app}")
        expect(any(a.get("app") == "more-dig" and a.get("verdict") == "allow" for a in audit),
               "no allowed datagram audited for dig")
        expect(any(a.get("app") == "more-dig" and a.get("verdict") == "deny" for a in audit),
               "no audited deny for dig")
        expect(denied.connections == 0, "the denied server saw a connection")
    print("PASS:", ", ".join(checked))


if __name__ == "__main__":
    main()
