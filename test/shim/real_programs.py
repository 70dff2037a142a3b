#!/usr/bin/env python3
"""Real programs through the shim and a real netleashd: patched copies of
curl, python3 and nc talk to local servers by name and by address; a
destination outside the policy is refused (EACCES) and audited. The patched
python3 also tries the ways around the shim a script has: libc through
ctypes (the seal refuses it) and unpatched children (subprocess, a shell,
a double fork): they carry the app of their process tree, reach what it
allows and nothing else, and a child that runs another app's patched curl
gains nothing (docs/identity.md, "Process trees")."""

import os
import shutil
import socket
import sys

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import HttpServer, Netleash, expect  # noqa: E402

BODY = "hello through netleash\n"


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
        curl_only = nl.add_server(HttpServer(root))  # curl's policy alone allows it
        rules = [{"host": "web.nltest", "ports": [http_server.port]},
                 {"cidr": "127.0.0.1", "ports": [echo.port]}]
        for app in ("shim-curl", "shim-python", "shim-nc"):
            extra = [{"cidr": "127.0.0.1", "ports": [curl_only.port]}] if app == "shim-curl" else []
            nl.write_policy(app, {"outbound": rules + extra})
        nl.start_daemon()
        url = f"http://web.nltest:{http_server.port}/hello.txt"
        checked = []

        curl = shutil.which("curl")
        patched_curl = None
        if curl:
            exe = patched_curl = nl.patch(curl, "shim-curl")
            r = nl.run([exe, "-sS", "--max-time", "10", url])
            expect(r.returncode == 0 and r.stdout == BODY, "curl by name", r)
            r = nl.run([exe, "-sS", "--max-time", "10", f"http://127.0.0.1:{denied.port}/"])
            expect(r.returncode == 7, "curl to a denied port must fail to connect", r)
            r = nl.run([exe, "-sS", "--max-time", "10", "http://127.0.0.1:%d/hello.txt" % curl_only.port])
            expect(r.returncode == 0, "curl to the port only its own policy allows", r)
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
# Unpatched children, directly, through a shell, and orphaned by a double
# fork: the app's allowlist holds for them, nothing more.
def curl(url):
    return [{curl!r}, "-sS", "--max-time", "10", "-o", "/dev/null", url]
for url, code in (({url!r}, 0), ("http://127.0.0.1:{denied.port}/", 7)):
    assert subprocess.run(curl(url), capture_output=True).returncode == code, url
    assert os.WEXITSTATUS(os.system(" ".join(curl(url)) + " 2>/dev/null")) == code, url
    read, write = os.pipe()
    if os.fork() == 0:
        if os.fork() == 0:
            os.close(read)
            os.write(write, bytes([subprocess.run(curl(url), capture_output=True).returncode]))
            os._exit(0)
        os._exit(0)
    os.close(write)
    assert os.read(read, 1) == bytes([code]), url
# Another app's patched curl, run from this tree, gets this app's policy.
if {patched_curl!r}:
    r = subprocess.run([{patched_curl!r}, "-sS", "--max-time", "10", "http://127.0.0.1:{curl_only.port}/hello.txt"],
                       capture_output=True)
    assert r.returncode == 7, r
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
        # The children carried the shim (LD_PRELOAD) and their tree's app: audited
        # with their own exe, the app they inherited, and "inherited".
        children = [a for a in audit if a.get("op") == "connect" and a.get("app") == "shim-python" and
                    a.get("inherited") and a.get("exe") == os.path.realpath(curl)]
        denials = [a for a in children if a["verdict"] == "deny" and a.get("dst") == f"127.0.0.1:{denied.port}"]
        allows = [a for a in children if a["verdict"] == "allow" and a.get("host") == "web.nltest"]
        expect(len(denials) >= 3 and len(allows) >= 3, f"the children's connects were not audited: {children}")
        if patched_curl:
            deputy = [a for a in audit if a.get("dst") == f"127.0.0.1:{curl_only.port}" and
                      a.get("app") == "shim-python" and a.get("exe") == patched_curl]
            expect(deputy and deputy[0]["verdict"] == "deny" and deputy[0].get("inherited"),
                   f"the patched curl run by python was not decided as python's: {deputy}")
    print("PASS:", ", ".join(checked))


if __name__ == "__main__":
    main()
