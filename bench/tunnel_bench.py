#!/usr/bin/python3
"""Encrypted-link benchmark: bulk TCP throughput from host B to host A (two
network namespaces joined by a veth pair, as in test/tunnel_link/), one run per
path, the same bytes each time:

  relay    patched reader on A -> netleashd A -> plain TCP over the veth -> sender on B
  tunnel   patched reader on A -> netleashd A -> encrypted link -> netleashd B -> sender
           on B's loopback (the "via" path)
  stunnel  plain reader on A -> stunnel4 client -> TLS 1.3 over the veth -> stunnel4
           server on B -> sender on B's loopback (default cipher suite, and pinned to
           TLS_CHACHA20_POLY1305_SHA256, the AEAD the tunnel uses)

Writes bench/out/tunnel.md and bench/out/tunnel.json with MB/s and the ratios.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "out")
sys.path.insert(0, os.path.join(HERE, "..", "test", "tunnel_link"))

SENDER = r'''
import socket, sys
host, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port)); s.listen(8); print("ready", flush=True)
chunk = b"\xa5" * (1 << 20)
while True:
    c, _ = s.accept()
    left = total
    while left:
        left -= c.send(chunk[:min(left, len(chunk))])
    c.close()
'''
READER = r'''
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 20
while True:
    try:
        s = socket.create_connection((host, port)); break
    except OSError:
        if time.monotonic() > deadline: raise
        time.sleep(0.05)
buf = bytearray(1 << 20); view = memoryview(buf); got = 0
start = time.monotonic()
while True:
    n = s.recv_into(view)
    if not n: break
    got += n
print(got, time.monotonic() - start)
'''


def run_reader(lab, python, host, port, env):
    out = subprocess.run(lab.a.exec_cmd([python, "-c", READER, host, str(port)]), env=env,
                         capture_output=True, text=True, timeout=600, check=True)
    got, seconds = out.stdout.split()
    return int(got), float(seconds)


def stunnel_configs(lab, work, tls_port, back_port, ciphersuites):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=bench",
                    "-keyout", f"{work}/key.pem", "-out", f"{work}/cert.pem"],
                   check=True, capture_output=True)
    suites = f"ciphersuites = {ciphersuites}\n" if ciphersuites else ""
    server = (f"foreground = yes\npid =\n[b]\naccept = {lab.b.address}:{tls_port}\n"
              f"connect = 127.0.0.1:{back_port}\ncert = {work}/cert.pem\nkey = {work}/key.pem\n"
              f"sslVersionMin = TLSv1.3\n{suites}")
    client = (f"foreground = yes\npid =\n[a]\nclient = yes\naccept = 127.0.0.1:{tls_port}\n"
              f"connect = {lab.b.address}:{tls_port}\nsslVersionMin = TLSv1.3\n{suites}")
    paths = []
    for name, text in (("server", server), ("client", client)):
        path = f"{work}/stunnel-{name}-{tls_port}.conf"
        with open(path, "w") as f:
            f.write(text)
        paths.append(path)
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", default=os.path.join(HERE, "..", "build"))
    parser.add_argument("--mib", type=int, default=1024, help="bytes per run, in MiB")
    args = parser.parse_args()
    build = os.path.abspath(args.build_dir)
    os.environ.setdefault("NETLEASHD", f"{build}/src/netleashd/netleashd")
    os.environ.setdefault("NETLEASH_PATCH", f"{build}/src/patcher/netleash-patch")
    os.environ.setdefault("NETLEASH_SHIM", f"{build}/src/shim/libnetleash.so.1")
    for tool in ("stunnel4", "openssl", "tcpdump"):
        if shutil.which(tool) is None:
            sys.exit(f"tunnel_bench: {tool} is missing (apt-get install stunnel4 openssl)")
    from hosts import Lab  # noqa: E402 (needs the environment above)

    total = args.mib << 20
    results = {}
    with Lab() as lab:
        relay_port, tunnel_port, back_port = 9001, 9002, 9003
        lab.link_configs(tunnel_port)
        lab.a.write_policy("bench", {"outbound": [
            {"cidr": lab.b.address, "ports": [relay_port]},
            {"cidr": "127.0.0.1", "ports": [tunnel_port], "via": "hostb"}]})
        lab.b.start()
        lab.a.start()
        python = lab.patch(os.path.realpath("/usr/bin/python3"), "bench")
        for host, port in ((lab.b.address, relay_port), ("127.0.0.1", tunnel_port),
                           ("127.0.0.1", back_port)):
            sender = lab.spawn(lab.b.exec_cmd(["/usr/bin/python3", "-c", SENDER, host, str(port),
                                               str(total)]), stdout=subprocess.PIPE, text=True)
            assert sender.stdout.readline().strip() == "ready"
        results["relay"] = run_reader(lab, python, lab.b.address, relay_port, lab.a.env())
        results["tunnel"] = run_reader(lab, python, "127.0.0.1", tunnel_port, lab.a.env())
        for name, tls_port, suites in (("stunnel", 9443, None),
                                       ("stunnel_chacha20", 9444, "TLS_CHACHA20_POLY1305_SHA256")):
            server, client = stunnel_configs(lab, lab.dir, tls_port, back_port, suites)
            for host, conf in ((lab.b, server), (lab.a, client)):
                lab.spawn(host.exec_cmd(["stunnel4", conf]), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
            plain_env = dict(os.environ)
            results[name] = run_reader(lab, "/usr/bin/python3", "127.0.0.1", tls_port, plain_env)
    for name, (got, _) in results.items():
        assert got == total, f"{name}: {got} of {total} bytes"
    mbps = {name: got / seconds / 1e6 for name, (got, seconds) in results.items()}
    ratios = {
        "tunnel/relay": mbps["tunnel"] / mbps["relay"],
        "tunnel/stunnel": mbps["tunnel"] / mbps["stunnel"],
        "tunnel/stunnel_chacha20": mbps["tunnel"] / mbps["stunnel_chacha20"],
    }
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "tunnel.json"), "w") as f:
        json.dump({"bytes": total, "mbps": mbps, "ratios": ratios}, f, indent=2)
    lines = [
        "# Encrypted links: bulk throughput over a veth pair (one run)", "",
        f"{args.mib} MiB from host B to host A per path; {platform.node()}, "
        f"{os.cpu_count()} CPUs, kernel {platform.release()}.", "",
        "| path | MB/s |", "|---|---|",
    ]
    lines += [f"| {name} | {value:.0f} |" for name, value in mbps.items()]
    lines += ["", "| ratio | value |", "|---|---|"]
    lines += [f"| {name} | {value:.2f} |" for name, value in ratios.items()]
    with open(os.path.join(OUT_DIR, "tunnel.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
