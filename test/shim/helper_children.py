#!/usr/bin/env python3
"""Programs whose network goes through unpatched helper programs: patched git
clones over HTTP through git-remote-http, patched apt-get fetches from a local
repository through apt's http method (which drops to the _apt user). The
helpers carry the shim and their process tree's app: the allowed port works,
the denied one is refused, and the audit names the helper's own executable
with the app it inherited (docs/identity.md, "Process trees")."""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import HttpServer, Netleash, expect, world_readable_copy  # noqa: E402
from netleash_skip import skip  # noqa: E402


def helper_lines(nl, app, exe):
    return [a for a in nl.audit_lines() if a.get("app") == app and a.get("exe") == exe and
            a.get("inherited") and a.get("op") == "connect"]


def bare_repository(root):
    """A bare repository with one commit, served by a static server (git's dumb HTTP)."""
    repo = os.path.join(root, "repo.git")
    work = os.path.join(root, "work")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "-c", "init.defaultBranch=main"]
    subprocess.run(git + ["init", "-q", "--bare", repo], check=True)
    subprocess.run(git + ["clone", "-q", repo, work], check=True, capture_output=True)
    subprocess.run(git + ["-C", work, "commit", "-q", "--allow-empty", "-m", "one"], check=True)
    subprocess.run(git + ["-C", work, "push", "-q", "origin", "HEAD:main"], check=True, capture_output=True)
    subprocess.run(["git", "-C", repo, "update-server-info"], check=True)


def check_git(nl, allowed, denied):
    git = nl.patch(shutil.which("git"), "helper-git")
    for port, code in ((allowed.port, 0), (denied.port, 128)):
        target = os.path.join(nl.dir, f"clone-{port}")
        r = nl.run([git, "clone", "-q", f"http://127.0.0.1:{port}/repo.git", target])
        expect(r.returncode == code, f"git clone from port {port}", r)
    expect(os.path.exists(os.path.join(nl.dir, f"clone-{allowed.port}", ".git")), "no clone")
    lines = helper_lines(nl, "helper-git", os.path.realpath("/usr/lib/git-core/git-remote-http"))
    verdicts = {(a["dst"], a["verdict"]) for a in lines}
    expect(("127.0.0.1:%d" % allowed.port, "allow") in verdicts and
           ("127.0.0.1:%d" % denied.port, "deny") in verdicts, f"git-remote-http's audit lines: {lines}")


def local_repository(root):
    """A flat apt repository holding one tiny package."""
    package = os.path.join(root, "pkg")
    os.makedirs(os.path.join(package, "DEBIAN"))
    with open(os.path.join(package, "DEBIAN", "control"), "w") as f:
        f.write("Package: nltest-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n")
    subprocess.run(["dpkg-deb", "-b", package, os.path.join(root, "nltest-hello_1.0_all.deb")],
                   check=True, capture_output=True)
    shutil.rmtree(package)
    with open(os.path.join(root, "Packages"), "w") as f:
        subprocess.run(["dpkg-scanpackages", ".", "/dev/null"], cwd=root, stdout=f, stderr=subprocess.DEVNULL,
                       check=True)


def check_apt(nl, allowed, denied):
    # apt's method runs as _apt: the shim it preloads must be readable by it,
    # wherever the checkout lives.
    os.chmod(nl.dir, 0o755)
    shim = world_readable_copy(nl.shim, os.path.join(nl.dir, "lib"))
    apt_get = nl.patch(shutil.which("apt-get"), "helper-apt", shim=shim)
    state = os.path.join(nl.dir, "apt")
    for sub in ("lists/partial", "archives/partial"):
        os.makedirs(os.path.join(state, sub))
    shutil.chown(os.path.join(state, "lists", "partial"), "_apt")
    for port, code in ((allowed.port, 0), (denied.port, 100)):
        sources = os.path.join(state, f"sources-{port}.list")
        with open(sources, "w") as f:
            f.write(f"deb [trusted=yes] http://127.0.0.1:{port}/ ./\n")
        options = ["-o", "Dir::Etc::sourcelist=" + sources, "-o", "Dir::Etc::sourceparts=-",
                   "-o", "Dir::State::Lists=" + os.path.join(state, "lists"),
                   "-o", "Dir::Cache=" + state, "-o", "Dir::Cache::archives=" + os.path.join(state, "archives"),
                   "-o", "Dir::State::status=/dev/null", "-o", "Debug::NoLocking=1",
                   "-o", "APT::Update::Error-Mode=any"]
        r = nl.run([apt_get] + options + ["update"])
        expect(r.returncode == code, f"apt-get update from port {port}", r)
        if code == 0:
            r = nl.run([apt_get] + options + ["-o", "Dir::Cache::archives=" + os.path.join(state, "archives"),
                                              "install", "--download-only", "-y", "nltest-hello"])
            expect(r.returncode == 0 and os.path.exists(os.path.join(state, "archives", "nltest-hello_1.0_all.deb")),
                   "apt-get install --download-only", r)
    lines = helper_lines(nl, "helper-apt", os.path.realpath("/usr/lib/apt/methods/http"))
    verdicts = {(a["dst"], a["verdict"]) for a in lines}
    expect(("127.0.0.1:%d" % allowed.port, "allow") in verdicts and
           ("127.0.0.1:%d" % denied.port, "deny") in verdicts, f"apt's http method's audit lines: {lines}")
    expect(any(a.get("uid") not in (None, 0) for a in lines), "the method did not run as _apt")


def main():
    for tool in ("git", "apt-get", "dpkg-deb", "dpkg-scanpackages"):
        if shutil.which(tool) is None:
            skip(f"{tool} is not installed")
    with Netleash(start=False) as nl:
        served = os.path.join(nl.dir, "www")
        os.makedirs(served)
        bare_repository(served)
        local_repository(served)
        allowed = nl.add_server(HttpServer(served))
        denied = nl.add_server(HttpServer(served))
        rule = [{"cidr": "127.0.0.1", "ports": [allowed.port]}]
        for app in ("helper-git", "helper-apt"):
            nl.write_policy(app, {"outbound": rule})
        nl.start_daemon()
        check_git(nl, allowed, denied)
        check_apt(nl, allowed, denied)
    print("PASS: git through git-remote-http, apt-get through its http method")


if __name__ == "__main__":
    main()
