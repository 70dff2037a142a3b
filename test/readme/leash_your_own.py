"""README.md's "Leash your own program": runs the shell commands of that
section, exactly as written there (read from README.md between its two
markers, so the README cannot drift), against this build tree.

The commands use the default socket /run/netleash/netleashd.sock and port
8000, so they run in private namespaces: a mount namespace with its own /run,
a network namespace with only a loopback (port 8000 is free there), and a PID
namespace that ends every process they start when they are done. `build` in
the private working directory is a link to this build tree.

usage: leash_your_own.py README BUILD_ROOT
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.environ["NETLEASH_TEST_LIB"])
from netleash_harness import expect  # noqa: E402
from netleash_skip import skip  # noqa: E402

README, BUILD_ROOT = sys.argv[1], os.path.abspath(sys.argv[2])
BEGIN = "<!-- test/readme/leash_your_own.py runs the commands below, exactly as written -->"
END = "<!-- end of the commands test/readme/leash_your_own.py runs -->"


def readme_commands():
    text = open(README).read()
    expect(text.count(BEGIN) == 1 and text.count(END) == 1, "README.md has the markers once each")
    block = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
    m = re.fullmatch(r"\s*```sh\n(.*)```\s*", block, re.S)
    expect(m is not None, f"one ```sh block between the markers: {block!r}")
    return m.group(1)


def main():
    commands = readme_commands()
    if os.geteuid() != 0:
        skip("needs root (the README's commands run as root, in private namespaces)")
    for tool in ("unshare", "ip", "curl", "python3", "bash"):
        if not shutil.which(tool):
            skip(f"{tool} is not installed")
    tmp = tempfile.mkdtemp(prefix="netleash-readme-")
    try:
        os.symlink(BUILD_ROOT, os.path.join(tmp, "build"))
        with open(os.path.join(tmp, "commands.sh"), "w") as f:
            f.write(commands)
        setup = ('ip link set lo up && mount -t tmpfs netleash-test /run && cd "$1" && '
                 'exec bash ./commands.sh')
        r = subprocess.run(["unshare", "--net", "--mount", "--pid", "--fork", "--mount-proc",
                            "--propagation", "private", "bash", "-c", setup, "bash", tmp],
                           capture_output=True, text=True, timeout=120)
        expect(r.returncode == 0, "the commands end with status 0", r)
        out = r.stdout.splitlines()
        expect(out[:1] == ["200"], "the patched curl reaches 127.0.0.1:8000", r)
        expect("curl: (7)" in r.stderr and "Couldn't connect to server" in r.stderr,
               "the patched curl is refused 127.0.0.1:8001", r)
        allow = [l for l in out if re.search(r"\bmycurl\s+connect\s+127\.0\.0\.1:8000\s+allow\b", l)]
        deny = [l for l in out if re.search(
            r"\bmycurl\s+connect\s+127\.0\.0\.1:8001\s+deny\s+no rule matches", l)]
        expect(len(allow) == 1 and len(deny) == 1, "netleashctl log shows both decisions", r)
        expect("listening on /run/netleash/netleashd.sock " in r.stderr,
               "netleashd listens on the default socket", r)
        print("README's commands: allowed, denied and audited as the README says")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
