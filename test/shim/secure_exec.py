#!/usr/bin/env python3
"""NETLEASH_SOCKET is ignored in secure-execution processes: the same patched
program, run as an unprivileged user, reaches the test daemon through
NETLEASH_SOCKET; made setuid root, it must not (the environment of a setuid
program's caller cannot choose its daemon), and the test daemon sees nothing.

usage: secure_exec.py PROGRAM  (skipped, exit 77, unless run as root)"""

import os
import pwd
import socket
import stat
import sys

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash, wait_for, world_readable_copy  # noqa: E402
from netleash_skip import skip  # noqa: E402


def main():
    if os.geteuid() != 0:
        skip("needs root (to make a setuid-root program and run it as nobody)")
    nobody = pwd.getpwnam("nobody")
    with Netleash(start=False) as nl:
        echo = nl.start_tcp_echo_server(socket.AF_INET)
        nl.write_policy("shim-secure", {"outbound": [{"cidr": "127.0.0.1", "ports": [echo.port]}]})
        nl.start_daemon()
        # nobody loads the shim from beside the program, not from the build directory.
        nl.shim = world_readable_copy(nl.shim, nl.bin_dir)
        exe = nl.patch(os.path.abspath(sys.argv[1]), "shim-secure")
        for path in (nl.dir, nl.bin_dir, exe, nl.socket_path, nl.socket_path + ".dgram"):
            os.chmod(path, os.stat(path).st_mode | 0o755)
        as_nobody = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", exe]
        env = {"NLT_TCP4_PORT": echo.port}

        plain = nl.run(as_nobody, env=env)
        if plain.stdout.strip() != "ok":
            print(f"FAIL: unprivileged run: {plain.stdout} {plain.stderr}", file=sys.stderr)
            sys.exit(1)
        connects = lambda: [a for a in nl.audit_lines() if a.get("op") == "connect"]  # noqa: E731
        before = len(wait_for(connects, 10, "the plain run's audit line"))

        os.chown(exe, 0, 0)  # (chown clears the setuid bit: it goes first)
        os.chmod(exe, 0o4755)
        secure = nl.run(as_nobody, env=env)
        answer = secure.stdout.strip()
        if answer not in ("ECONNREFUSED", "EACCES") or len(connects()) != before:
            print(f"FAIL: setuid run used NETLEASH_SOCKET: {answer} {secure.stderr}", file=sys.stderr)
            sys.exit(1)
    print(f"PASS: plain run reached the test daemon; setuid run ignored NETLEASH_SOCKET ({answer})")


if __name__ == "__main__":
    main()
