#!/usr/bin/env python3
"""The built shim links only libc, has no C++ runtime, exports exactly the
interposed functions, is named by its soname, and starts no constructors
that do work (no .init_array entries beyond the toolchain's own)."""

import os
import re
import subprocess
import sys

EXPECTED = set("""
socket socketpair connect bind listen accept accept4 shutdown close close_range closefrom dup dup2 dup3
fcntl fcntl64 getsockname getpeername getsockopt setsockopt send sendto sendmsg sendmmsg recv recvfrom
recvmsg recvmmsg read readv write writev __read_chk __recv_chk __recvfrom_chk getaddrinfo freeaddrinfo
getnameinfo gethostbyname gethostbyname2 gethostbyname_r gethostbyname2_r gethostbyaddr syscall
execve execvpe fexecve posix_spawn posix_spawnp
""".split())


def tool(*args):
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def main():
    shim = os.environ["NETLEASH_SHIM"]
    problems = []
    if os.path.basename(shim) != "libnetleash.so.1":
        problems.append(f"file is {os.path.basename(shim)}, not libnetleash.so.1")
    dynamic = tool("readelf", "-d", "-W", shim)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.*?)\]", dynamic)
    if needed != ["libc.so.6"]:
        problems.append(f"NEEDED is {needed}, expected only libc.so.6")
    soname = re.findall(r"\(SONAME\)\s+Library soname: \[(.*?)\]", dynamic)
    if soname != ["libnetleash.so.1"]:
        problems.append(f"SONAME is {soname}")
    exported = set()
    for line in tool("nm", "-D", "--defined-only", shim).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TtWiDdBbVv":
            exported.add(parts[2].split("@")[0])
    if exported != EXPECTED:
        problems.append(f"unexpected exports {sorted(exported - EXPECTED)}, missing {sorted(EXPECTED - exported)}")
    undefined = tool("nm", "-D", "--undefined-only", shim)
    cxx = [l.split()[-1] for l in undefined.splitlines() if re.search(r"_Z|__cxa_(?!finalize)|__gxx|_Unwind_Resume", l)]
    if cxx:
        problems.append(f"C++ runtime symbols referenced: {cxx}")
    for p in problems:
        print("FAIL:", p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"PASS: NEEDED={needed} exports={len(exported)}")


if __name__ == "__main__":
    main()
