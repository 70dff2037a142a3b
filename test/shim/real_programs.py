#!/usr/bin/env python3
"""Real programs through the shim and a real netleashd: patched copies of
curl, python3 and nc talk to local servers by name and by address; a
destination outside the policy is refused (EACCES) and audited. The patched
python3 also tries the ways around the shim a script has: libc through
ctypes, and unpatched children (subprocess, a shell, a double fork) — the
seal refuses them all."""

import functools
import http.server
import os
import shutil
import socket
import sys
import threading

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash, expect  # noqa: E402

BODY = "hello through netleash\n"


class HttpServer:
    def __init__(self, root):
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
        handler.log_message = lambda *args: None
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def main():
    # Not "localhost": curl answers that name itself (RFC 6761) without
    # getaddrinfo, so a host rule for it never sees a resolution.
    with Netleash(hosts={"web.nltest": ["127.0.0.1"]}, start=False) as nl:
        root = os.path.join(nl.dir, "www")
        os.makedirs(root)
        with open(os.path.join(root, "hello.txt"), "w") as f:
            f.write(BODY)
        http_server = nl.add_server(HttpServer(root))
        echo = nl.start_tcp_echo_server(socket.AF_INET)
        denied = nl.start_tcp_echo_server(socket.AF_INET)
        rules = [{"host": "web.nltest", "ports": [http_server.port]},
                 {"cidr": "127.0.0.1", "ports": [echo.port]}]
        for app in ("shim-curl", "shim-python", "shim-nc"):
            nl.write_policy(app, {"outbound": rules})
        nl.start_daemon()
        url = f"http://web.nltest:{http_server.port}/hello.txt"
        checked = []

        curl = shutil.which("curl")
        if curl:
            exe = nl.patch(curl, "shim-curl")
            r = nl.run([exe, "-sS", "--max-time", "10", url])
            expect(r.returncode == 0 and r.stdout == BODY, "curl by name", r)
            r = nl.run([exe, "-sS", "--max-time", "10", f"http://127.0.0.1:{denied.port}/"])
            expect(r.returncode == 7, "curl to a denied port must fail to connect", r)
            checked.append("curl")

        curl = curl or "/usr/bin/curl"
        python = os.path.realpath(sys.executable if os.path.basename(sys.executable).startswith("python3")
                                  else shutil.which("python3"))
        if os.path.exists("/usr/bin/python3"):
            python = os.path.realpath("/usr/bin/python3")
        exe = nl.patch(python, "shim-python")
        script = f"""
import errno, socket, urllib.request
assert urllib.request.urlopen({url!r}, timeout=10).read().decode() == {BODY!r}
s = socket.create_connection(("127.0.0.1", {echo.port}), timeout=10)
s.sendall(b"py"); assert s.recv(2) == b"py"
try:
    socket.create_connection(("127.0.0.1", {denied.port}), timeout=10)
    raise SystemExit("denied connect succeeded")
except PermissionError:
    pass
try:
    socket.getaddrinfo("not-allowed.invalid", 80)
    raise SystemExit("resolution of a name outside the policy succeeded")
except socket.gaierror as e:
    assert e.errno == socket.EAI_NONAME, e

# Around the shim: libc's own socket() through ctypes is sealed off.
import ctypes, os, subprocess
libc = ctypes.CDLL("libc.so.6", use_errno=True)
assert libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0) == -1 and ctypes.get_errno() == errno.EACCES
# Unpatched children: directly, through a shell, and orphaned by a double fork.
denied_url = "http://127.0.0.1:{denied.port}/"
child = [{curl!r}, "-sS", "--max-time", "10", denied_url]
assert subprocess.run(child, capture_output=True).returncode == 7
assert os.WEXITSTATUS(os.system(" ".join(child) + " 2>/dev/null")) == 7
read, write = os.pipe()
if os.fork() == 0:
    if os.fork() == 0:
        os.close(read)
        code = subprocess.run(child, capture_output=True).returncode
        os.write(write, bytes([code]))
        os._exit(0)
    os._exit(0)
os.close(write)
assert os.read(read, 1) == bytes([7])
print("ok")
"""
        r = nl.run([exe, "-c", script])
        expect(r.returncode == 0 and r.stdout.strip() == "ok", "python3", r)
        checked.append("python3")

        nc = shutil.which("nc")
        if nc:
            exe = nl.patch(os.path.realpath(nc), "shim-nc")
            r = nl.run([exe, "-N", "127.0.0.1", str(echo.port)], input="netcat\n")
            expect(r.returncode == 0 and r.stdout == "netcat\n", "nc echo", r)
            checked.append("nc")

        audit = nl.audit_lines()
        expect(any(a.get("verdict") == "deny" and a.get("op") == "connect" for a in audit), "no audited deny")
        expect(any(a.get("verdict") == "allow" and a.get("host") == "web.nltest" for a in audit),
               "no allowed connect audited with its host name")
        expect(echo.connections >= 1 and denied.connections == 0, "servers saw the wrong connections")
        # The unpatched children carried the shim (LD_PRELOAD): their attempts are audited too.
        children = [a for a in audit if a.get("op") == "connect" and a.get("verdict") == "deny" and
                    a.get("dst") == f"127.0.0.1:{denied.port}" and a.get("app") not in ("shim-curl", "shim-python")]
        expect(len(children) >= 3, f"the children's connects were not audited: {children}")
    print("PASS:", ", ".join(checked))


if __name__ == "__main__":
    main()
