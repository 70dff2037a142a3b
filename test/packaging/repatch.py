"""netleash-repatch with a real dpkg: a program patched in place is replaced,
unpatched, by the upgrade of the package that owns it; the shipped dpkg hook
(etc/dpkg/dpkg.cfg.d/netleash-repatch) patches it again with the same app id.

Two versions of a real .deb (a copy of /usr/bin/true, then of /usr/bin/false,
as /usr/bin/netleash-test-prog) are built with dpkg-deb and installed with
`dpkg --root` into a private directory. dpkg reads its configuration from
/etc/dpkg/dpkg.cfg.d whatever --root says, so the hook file is put there in a
private mount namespace (a tmpfs over that directory), with the installed
script's path replaced by a wrapper that names this build's script, manifest
and netleash-patch.

usage: repatch.py   (NETLEASH_REPATCH, NETLEASH_REPATCH_HOOK, NETLEASH_PATCH,
                     NETLEASH_SHIM, NETLEASH_TEST_LIB, NETLEASH_SBINDIR from meson)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.environ["NETLEASH_TEST_LIB"])
from netleash_harness import expect  # noqa: E402
from netleash_skip import skip  # noqa: E402

REPATCH = os.environ["NETLEASH_REPATCH"]
HOOK = os.environ["NETLEASH_REPATCH_HOOK"]
PATCH = os.environ["NETLEASH_PATCH"]
SHIM = os.environ["NETLEASH_SHIM"]
INSTALLED = os.path.join(os.environ["NETLEASH_SBINDIR"], "netleash-repatch")
PROG = "/usr/bin/netleash-test-prog"


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def inspect(path):
    r = run([PATCH, "--inspect", "--json", path])
    return json.loads(r.stdout)


def build_deb(tmp, version, program):
    tree = os.path.join(tmp, f"tree-{version}")
    os.makedirs(os.path.join(tree, "DEBIAN"))
    os.makedirs(os.path.join(tree, "usr/bin"))
    shutil.copy(program, tree + PROG)
    with open(os.path.join(tree, "DEBIAN/control"), "w") as f:
        f.write(f"Package: netleash-test-prog\nVersion: {version}\nArchitecture: all\n"
                "Maintainer: netleash tests <root@localhost>\n"
                "Description: a program that netleash-repatch keeps patched\n")
    deb = os.path.join(tmp, f"netleash-test-prog_{version}.deb")
    r = run(["dpkg-deb", "--root-owner-group", "--build", tree, deb])
    expect(r.returncode == 0, "dpkg-deb --build", r)
    return deb


def private_root(tmp):
    root = os.path.join(tmp, "root")
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"):
        os.makedirs(os.path.join(root, d))
    for f in ("status", "available"):
        open(os.path.join(root, "var/lib/dpkg", f), "w").close()
    return root


def dpkg_with_hook(root, hook_dir, deb):
    """`dpkg --root ROOT -i DEB` with HOOK_DIR as /etc/dpkg/dpkg.cfg.d."""
    script = ('mount -t tmpfs netleash-test /etc/dpkg/dpkg.cfg.d && '
              'cp "$1"/* /etc/dpkg/dpkg.cfg.d/ && exec dpkg --root="$2" -i "$3"')
    return run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                hook_dir, root, deb])


def main():
    if os.geteuid() != 0:
        skip("needs root (dpkg --root, a private mount namespace)")
    for tool in ("dpkg", "dpkg-deb", "unshare"):
        if not shutil.which(tool):
            skip(f"{tool} is not installed")
    tmp = tempfile.mkdtemp(prefix="netleash-repatch-")
    try:
        root = private_root(tmp)
        prog = root + PROG
        manifest = os.path.join(tmp, "repatch.list")
        with open(manifest, "w") as f:
            f.write("# a comment, then the program\n\n"
                    f"{prog}  test-prog --shim {SHIM}   # the shim of this build\n")
        os.chmod(manifest, 0o644)
        # The hook file as shipped, pointing at a wrapper for this build's script.
        wrapper = os.path.join(tmp, "netleash-repatch")
        with open(wrapper, "w") as f:
            f.write(f'#!/bin/sh\nexec {REPATCH} --manifest {manifest} --patch {PATCH} "$@"\n')
        os.chmod(wrapper, 0o755)
        hook_dir = os.path.join(tmp, "dpkg.cfg.d")
        os.makedirs(hook_dir)
        shipped = open(HOOK).read()
        expect(INSTALLED in shipped, f"the hook runs {INSTALLED}: {shipped}")
        with open(os.path.join(hook_dir, "netleash-repatch"), "w") as f:
            f.write(shipped.replace(INSTALLED, wrapper))

        v1 = build_deb(tmp, "1", "/usr/bin/true")
        v2 = build_deb(tmp, "2", "/usr/bin/false")
        v3 = build_deb(tmp, "3", "/usr/bin/true")
        r = run(["dpkg", "--root", root, "-i", v1])
        expect(r.returncode == 0, "install v1", r)
        r = run([PATCH, "--app", "test-prog", "--shim", SHIM, "--in-place", prog])
        expect(r.returncode == 0 and inspect(prog)["app"] == "test-prog", "patch v1 in place", r)

        # The upgrade, without the hook: dpkg replaces the file with v2, unpatched.
        r = run(["dpkg", "--root", root, "-i", v2])
        expect(r.returncode == 0, "upgrade to v2", r)
        expect(not inspect(prog)["patched"], "the upgrade replaced the file unpatched")
        r = run([REPATCH, "--manifest", manifest, "--patch", PATCH])
        expect(r.returncode == 0 and f"{prog}: patched again as test-prog" in r.stderr,
               "netleash-repatch patches it again", r)
        info = inspect(prog)
        expect(info["app"] == "test-prog" and info["shim"] == SHIM, f"patched again: {info}")
        ran = run([prog])
        expect(ran.returncode == 1, "the patched v2 (false) runs", ran)
        r = run([REPATCH, "--manifest", manifest, "--patch", PATCH])
        expect(r.returncode == 0 and "on the leash as test-prog" in r.stderr and
               "patched again" not in r.stderr, "a second run changes nothing", r)

        # The upgrade with the shipped hook: dpkg itself runs netleash-repatch.
        r = dpkg_with_hook(root, hook_dir, v3)
        expect(r.returncode == 0 and f"{prog}: patched again as test-prog" in r.stderr,
               "dpkg's post-invoke hook patches the upgraded file again", r)
        expect(inspect(prog)["app"] == "test-prog", "patched after the hooked upgrade")
        expect(run([prog]).returncode == 0, "the patched v3 (true) runs")
        # Package removed, hook file left (a conffile): dpkg still works.
        os.unlink(wrapper)
        r = dpkg_with_hook(root, hook_dir, v3)
        expect(r.returncode == 0, "the hook without the script does not fail dpkg", r)

        # A manifest others may write is refused: it decides what root patches.
        os.chmod(manifest, 0o664)
        run(["dpkg", "--root", root, "-i", v2])
        r = run([REPATCH, "--manifest", manifest, "--patch", PATCH])
        expect(r.returncode == 1 and "writable by group or others" in r.stderr and
               not inspect(prog)["patched"], "group-writable manifest refused", r)
        r = run([REPATCH, "--hook", "--manifest", manifest, "--patch", PATCH])
        expect(r.returncode == 0 and "NOT on the leash" in r.stderr,
               "as a hook it says so and does not fail dpkg", r)
        # Bad lines are named by file and line; the good ones are still done.
        with open(manifest, "w") as f:
            f.write(f"relative/path app\n{prog} test-prog -o /tmp/x\n{prog}\n"
                    f"{prog} test-prog --shim={SHIM}\n")
        os.chmod(manifest, 0o600)
        r = run([REPATCH, "--manifest", manifest, "--patch", PATCH])
        expect(r.returncode == 1 and f"{manifest}:1: relative/path: not an absolute path" in r.stderr
               and f"{manifest}:2: -o: only --shim LIB and --allow-setuid" in r.stderr and
               f"{manifest}:3: expected PATH APP-ID" in r.stderr and
               inspect(prog)["app"] == "test-prog", "bad lines reported, good line done", r)
        print("netleash-repatch: upgrade undone and redone through dpkg's hook")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
