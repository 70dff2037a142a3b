"""Measures netleashd's memory per idle relayed TCP connection (not a test:
run by hand). The daemon needs two descriptors per connection, so COUNT is
bounded by half the hard RLIMIT_NOFILE.

    NETLEASHD=... NETLEASH_PATCH=... NETLEASH_STUB_SHIM=... \
        python3 test/netleashd/integration/measure_idle.py [COUNT]

Opens COUNT (default 10000) connections through a real daemon to a local
server, waits until all are relayed, and reports the daemon's RSS growth.
"""
import json
import os
import resource
import selectors
import socket
import subprocess
import sys
import threading
import time

from harness import HERE, Env, policy, wait_for

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 10000


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def idle_server():
    """Accepts everything and never reads: the connections stay idle."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4096)
    held = []
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ)

    def loop():
        while True:
            for _ in sel.select():
                conn, _ = srv.accept()
                held.append(conn)

    threading.Thread(target=loop, daemon=True).start()
    return srv.getsockname()[1], held


def main():
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by the children
    env = Env()
    try:
        port, held = idle_server()
        d = env.daemon({"demo.json": policy("demo", [{"cidr": "127.0.0.1", "ports": [port]}])},
                       config={"max_connections": COUNT + 10, "max_connections_per_app": COUNT + 10})
        d.start()
        before = rss_kib(d.proc.pid)
        client = subprocess.Popen([env.patched_python("demo"), "-c", """
import sys, json
sys.path.insert(0, %r)
import netleash_wire as w
socks = []
for i in range(%d):
    s, v, r = w.tcp_connect(%r, '127.0.0.1', %d)
    assert (v, r) == (0, 0), (i, v, r)
    socks.append(s)
print('ready', flush=True)
sys.stdin.read()
""" % (os.path.dirname(HERE), COUNT, d.socket, port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True)
        started = time.monotonic()
        assert client.stdout.readline().strip() == "ready"
        elapsed = time.monotonic() - started
        wait_for(lambda: len(held) >= COUNT, timeout=60, what="server side")
        time.sleep(1)
        after = rss_kib(d.proc.pid)
        print(json.dumps({
            "connections": COUNT,
            "setup_seconds": round(elapsed, 2),
            "connections_per_second": round(COUNT / elapsed),
            "daemon_rss_kib_before": before,
            "daemon_rss_kib_after": after,
            "bytes_per_idle_connection": round((after - before) * 1024 / COUNT),
        }))
        client.stdin.close()
        client.wait(60)
    finally:
        env.close()


if __name__ == "__main__":
    main()
