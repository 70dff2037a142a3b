#!/usr/bin/env python3
"""Integration tests for netleash-patch: build small programs with every linker and layout
flag, patch them with a test shim, run them, and check the result with binutils/elfutils and
with LIEF (lief-check, test/patcher/lief_check.cc).

Usage: integration.py PATH/TO/netleash-patch --lief-check PATH/TO/lief-check [--quick]
"""
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(HERE, "../lib")))
from lief_check import lief_check  # noqa: E402

PATCH = os.path.abspath(sys.argv[1])
LIEF_CHECK = os.path.abspath(sys.argv[sys.argv.index("--lief-check") + 1])
QUICK = "--quick" in sys.argv
failures = []
passed = 0

C_PROGRAM = r"""
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int exported_answer(void) { return 42; }
int main(void) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  strcpy(addr.sun_path, "/nonexistent/netleash-test.sock");
  int rc = connect(fd, (struct sockaddr*)&addr, sizeof addr);
  close(fd);
  printf("answer %d connect %d\n", exported_answer(), rc);
  return 0;
}
"""

CXX_PROGRAM = r"""
#include <cstdio>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cstring>
extern "C" int exported_answer() { return 42; }
static void thrower(int n) { if (n > 0) throw std::runtime_error("boom " + std::to_string(n)); }
int main() {
  try { thrower(3); } catch (const std::exception& e) { std::printf("caught %s\n", e.what()); }
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, "/nonexistent/netleash-test.sock");
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  close(fd);
  std::printf("answer %d connect %d\n", exported_answer(), rc);
}
"""

SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
static void mark(const char* env, const char* text) {
  const char* path = getenv(env);
  if (!path) return;
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd >= 0) { write(fd, text, strlen(text)); close(fd); }
}
__attribute__((constructor)) static void loaded(void) { mark("NL_TEST_MARKER", "loaded\n"); }
int connect(int fd, const struct sockaddr* addr, socklen_t len) {
  mark("NL_TEST_CONNECT", "connect\n");
  int (*real)(int, const struct sockaddr*, socklen_t) =
      (int (*)(int, const struct sockaddr*, socklen_t))dlsym(RTLD_NEXT, "connect");
  return real(fd, addr, len);
}
"""

# Linked into every test program: its constructor runs before the shim's (glibc runs a
# DT_NEEDED library's constructor after those of libraries loaded after it), so it sees
# whether the preinit hook sealed the process first (the seal answers the probe prctl with
# errno 4042, shim/seal/filter.h) and whether any mapping is still writable and executable.
CTOR_LIBRARY = r"""
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
__attribute__((constructor)) static void probe(void) {
  const char* path = getenv("NL_TEST_SEALED");
  if (!path) return;
  int sealed = prctl(0x4e4c5331, 0, 0, 0, 0) == -1 && errno == 4042;
  int wx = 0;
  FILE* maps = fopen("/proc/self/maps", "r");
  char line[512];
  while (maps && fgets(line, sizeof line, maps)) {
    if (strstr(line, " rwx")) wx = 1;
  }
  if (maps) fclose(maps);
  char text[64];
  snprintf(text, sizeof text, "%s %s\n", sealed ? "sealed" : "unsealed", wx ? "wx" : "no-wx");
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd >= 0) { write(fd, text, strlen(text)); close(fd); }
}
"""

VERSION_SCRIPT = "VERS_1.0 { global: exported_answer; local: *; };\n"

NOTE_LINE = "with owner name 'netleash'"  # eu-elflint rejects every note owner it doesn't know
# The preinit hook appends DT_RELA/DT_RELASZ after a PIE's own (src/patcher/preinit_hook.h).
# eu-elflint wants each tag once; glibc's elf_get_dynamic_info stores info[tag] = dyn in a
# forward loop, so the last entry wins, and the "sealed before library constructors" check
# below proves at run time that ld.so applied the relocation in the second table.
DUPLICATE_RELA_LINES = ("more than one entry with tag RELA", "more than one entry with tag RELASZ")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, errors="replace", **kw)


def check(cond, name, detail=""):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(f"{name}: {detail}")
        print(f"FAIL {name}: {detail}", flush=True)
    return cond


def skip_case(name, reason):
    """A case this machine cannot set up (a tool missing). Under CI (CI=true),
    which installs every tool, that is a failure (test/lib/netleash_skip.py)."""
    if os.environ.get("CI") == "true":
        check(False, name, f"cannot set up under CI (CI=true): {reason}")
    else:
        print(f"skip {name}: {reason}")


def linker_works(tmp, ld, flags):
    src = os.path.join(tmp, "probe.c")
    with open(src, "w") as f:
        f.write("int main(void){return 0;}\n")
    out = os.path.join(tmp, "probe")
    return run(["gcc", f"-fuse-ld={ld}", *flags, src, "-o", out]).returncode == 0


def run_program(tmp, exe, env_extra=None, sealed_out=None):
    """Runs `exe`; `sealed_out` (a list) receives what the constructor probe saw."""
    marker = os.path.join(tmp, "marker")
    connect = os.path.join(tmp, "connect")
    sealed = os.path.join(tmp, "sealed")
    for p in (marker, connect, sealed):
        if os.path.exists(p):
            os.unlink(p)
    env = dict(os.environ, LD_BIND_NOW="1", NL_TEST_MARKER=marker, NL_TEST_CONNECT=connect,
               NL_TEST_SEALED=sealed)
    env.update(env_extra or {})
    r = run([exe], env=env)
    read = lambda p: open(p).read() if os.path.exists(p) else ""
    if sealed_out is not None:
        sealed_out.append(read(sealed))
    return r.returncode, r.stdout, read(marker), read(connect)


def readelf_warnings(path):
    r = run(["readelf", "-a", "-W", path])
    return set(l for l in r.stderr.splitlines() if l.strip())


def elflint(path):
    r = run(["eu-elflint", "--gnu-ld", path])
    lines = set(l for l in (r.stdout + r.stderr).splitlines() if l.strip())
    lines.discard("No errors")
    return set(l.replace(path, "FILE") for l in lines)


def inspect(path):
    r = run([PATCH, "--inspect", "--json", path])
    return json.loads(r.stdout.splitlines()[0])


def oracle(name, original, output, app=None, shim=None):
    """LIEF reads OUTPUT back: segments, dynamic section, note, symbols and relocations are
    what patching ORIGINAL as APP (none: --remove) promises."""
    report = lief_check(LIEF_CHECK, PATCH, original, output, app, shim)
    check(report is None, f"{name} LIEF check", report)


def shim_before_libc(tmp, exe, shim):
    r = run([exe], env=dict(os.environ, LD_TRACE_LOADED_OBJECTS="1"))
    lines = r.stdout.splitlines()
    shim_at = next((i for i, l in enumerate(lines) if shim in l), None)
    libc_at = next((i for i, l in enumerate(lines) if "libc.so" in l), None)
    return shim_at is not None and libc_at is not None and shim_at < libc_at


NOTE_SECTIONS = ["-R", ".note.ABI-tag", "-R", ".note.gnu.property", "-R", ".note.gnu.build-id"]


def test_case(tmp, shim, name, compiler, source, flags):
    exe = os.path.join(tmp, name)
    b = run([compiler, *flags, source, "-o", exe, "-L", tmp, "-Wl,--no-as-needed", "-lnlctor",
             "-Wl,-rpath," + tmp])
    if not check(b.returncode == 0, f"{name} build", b.stderr[-400:]):
        return
    if "nonotes" in name:  # no note at all: only empty PT_NOTEs are left
        check(run(["objcopy", *NOTE_SECTIONS, exe]).returncode == 0, f"{name} objcopy")
    probe = []
    base_rc, base_out, base_marker, _ = run_program(tmp, exe, sealed_out=probe)
    if base_rc != 0:
        # e.g. mold's DT_RELR output lacks the GLIBC_ABI_DT_RELR dependency glibc
        # 2.36 wants: a limit of the toolchain, not of this machine's set-up, so
        # it is skipped under CI too (as is a linker refusing a layout's flags).
        print(f"skip {name}: the unpatched program does not run")
        os.unlink(exe)
        return
    check(base_marker == "", f"{name} unpatched run", base_out)
    check(probe == ["unsealed no-wx\n"], f"{name} unpatched probe", str(probe))
    out = exe + ".patched"
    p = run([PATCH, "--app", "test.app", "--shim", shim, "-o", out, exe])
    if not check(p.returncode == 0, f"{name} patch", p.stderr):
        return
    check(os.stat(out).st_mode == os.stat(exe).st_mode, f"{name} mode kept")
    probe = []
    rc, stdout, marker, connect = run_program(tmp, out, sealed_out=probe)
    check(rc == base_rc and stdout == base_out, f"{name} output", f"{stdout!r} vs {base_out!r}")
    # The preinit hook sealed the process before a library constructor ran, and had put
    # W^X back by then.
    check(probe == ["sealed no-wx\n"], f"{name} sealed before library constructors", str(probe))
    check(marker == "loaded\n", f"{name} shim constructor ran", repr(marker))
    check(connect == "connect\n", f"{name} connect interposed", repr(connect))
    check(shim_before_libc(tmp, out, shim), f"{name} shim listed before libc")
    info = inspect(out)
    check(info["patched"] and info["app"] == "test.app" and info["shim"] == shim and
          info["seal"] == "preinit" and info["seal_reason"] is None, f"{name} inspect", str(info))
    oracle(name, exe, out, "test.app", shim)
    new_warnings = readelf_warnings(out) - readelf_warnings(exe)
    check(not new_warnings, f"{name} readelf warnings", str(new_warnings))
    new_lint = {l for l in elflint(out) - elflint(exe)
                if NOTE_LINE not in l and not l.endswith(DUPLICATE_RELA_LINES)}
    check(not new_lint, f"{name} eu-elflint", str(sorted(new_lint)[:3]))
    stripped = out + ".stripped"
    shutil.copy2(out, stripped)
    s = run(["strip", stripped])
    check(s.returncode == 0 and s.stderr == "", f"{name} strip", s.stderr)
    probe = []
    rc, stdout, marker, connect = run_program(tmp, stripped, sealed_out=probe)
    check(rc == base_rc and stdout == base_out and marker == "loaded\n" and connect and
          probe == ["sealed no-wx\n"], f"{name} stripped run", f"{rc} {stdout!r} {marker!r} {probe}")
    check(inspect(stripped)["app"] == "test.app", f"{name} stripped inspect")
    # Re-patching: same id is byte-identical, another id updates, remove restores.
    again = out + ".again"
    run([PATCH, "--app", "test.app", "--shim", shim, "-o", again, out])
    check(open(again, "rb").read() == open(out, "rb").read(), f"{name} idempotent")
    run([PATCH, "--app", "other.app", "--shim", shim, "-o", again, out])
    probe = []
    rc, stdout, marker, _ = run_program(tmp, again, sealed_out=probe)
    check(inspect(again)["app"] == "other.app" and stdout == base_out and marker == "loaded\n" and
          probe == ["sealed no-wx\n"], f"{name} id update", f"{stdout!r} {probe}")
    oracle(f"{name} id update", exe, again, "other.app", shim)
    removed = out + ".removed"
    r = run([PATCH, "--remove", "-o", removed, again])
    probe = []
    rc, stdout, marker, connect = run_program(tmp, removed, sealed_out=probe)
    info = inspect(removed)
    check(r.returncode == 0 and not info["patched"] and info["shim"] is None and
          stdout == base_out and marker == "" and connect == "" and
          probe == ["unsealed no-wx\n"], f"{name} remove", f"{r.stderr} {probe}")
    check(not shim_before_libc(tmp, removed, shim), f"{name} remove drops the shim")
    oracle(f"{name} remove", exe, removed)
    # Patching the removed file reuses the segment: same size class, runs, strips.
    r = run([PATCH, "--app", "back", "--shim", shim, "-o", again, removed])
    probe = []
    rc, stdout, marker, _ = run_program(tmp, again, sealed_out=probe)
    check(r.returncode == 0 and stdout == base_out and marker == "loaded\n" and
          probe == ["sealed no-wx\n"] and
          os.path.getsize(again) <= os.path.getsize(out) + 64, f"{name} re-patch after remove",
          r.stderr)
    oracle(f"{name} re-patch after remove", exe, again, "back", shim)
    for f in (out, stripped, again, removed, exe):
        os.unlink(f)


def layout_matrix(tmp):
    variants = [
        ("pie", ["-pie", "-fPIE"]),
        ("nopie", ["-no-pie", "-fno-PIE"]),
        ("pie-sep", ["-pie", "-Wl,-z,separate-code"]),
        ("pie-nosep", ["-pie", "-Wl,-z,noseparate-code"]),
        ("nopie-nosep", ["-no-pie", "-Wl,-z,noseparate-code"]),
        ("norelro", ["-pie", "-Wl,-z,norelro"]),
        ("relro-now", ["-pie", "-Wl,-z,relro,-z,now"]),
        ("relr", ["-pie", "-Wl,-z,pack-relative-relocs"]),
        ("stripped", ["-pie", "-s"]),
        ("rpath", ["-pie", "-Wl,-rpath,/opt/netleash-test/lib", "-Wl,--disable-new-dtags"]),
        ("runpath", ["-pie", "-Wl,-rpath,/opt/netleash-test/lib", "-Wl,--enable-new-dtags"]),
        ("verdef", ["-pie", "-rdynamic", "-Wl,--version-script=" + os.path.join(tmp, "v.map")]),
        ("buildid-none", ["-pie", "-Wl,--build-id=none"]),
        ("nonotes", ["-pie", "-Wl,--build-id=none"]),  # notes removed after linking
        ("nonotes-nopie", ["-no-pie", "-Wl,--build-id=none"]),
        ("page64k", ["-pie", "-Wl,-z,max-page-size=0x10000"]),
    ]
    if QUICK:
        variants = variants[:2]
    return variants


def test_matrix(tmp, shim):
    with open(os.path.join(tmp, "v.map"), "w") as f:
        f.write(VERSION_SCRIPT)
    c_src = os.path.join(tmp, "prog.c")
    cxx_src = os.path.join(tmp, "prog.cc")
    with open(c_src, "w") as f:
        f.write(C_PROGRAM)
    with open(cxx_src, "w") as f:
        f.write(CXX_PROGRAM)
    for ld in ["bfd", "gold", "lld", "mold"]:
        if not linker_works(tmp, ld, []):
            skip_case(f"linker {ld}", "not available")
            continue
        for vname, vflags in layout_matrix(tmp):
            flags = [f"-fuse-ld={ld}", *vflags]
            if not linker_works(tmp, ld, vflags):
                print(f"skip {ld}-{vname}: linker does not accept the flags")
                continue
            test_case(tmp, shim, f"c-{ld}-{vname}", "gcc", c_src, flags)
            test_case(tmp, shim, f"cxx-{ld}-{vname}", "g++", cxx_src, flags)


def expect_refused(tmp, name, path, extra=()):
    out = os.path.join(tmp, "refused.out")
    with open(out, "w") as f:
        f.write("untouched\n")
    r = run([PATCH, "--app", "x", *extra, "-o", out, path])
    leftovers = [n for n in os.listdir(tmp) if ".netleash-" in n]
    check(r.returncode == 3 and open(out).read() == "untouched\n" and not leftovers and
          r.stderr.startswith(f"netleash-patch: {path}: ") and r.stderr.count("\n") == 1,
          f"refuse {name}", f"rc={r.returncode} {r.stderr!r} {leftovers}")


def test_refusals(tmp, shim):
    src = os.path.join(tmp, "hello.c")
    with open(src, "w") as f:
        f.write('#include <stdio.h>\nint main(void){puts("hi");return 0;}\n')
    def build(name, *flags, source=src):
        exe = os.path.join(tmp, name)
        r = run(["gcc", *flags, source, "-o", exe])
        return exe if r.returncode == 0 else None
    static = build("static", "-static")
    if check(static is not None, "build static"):
        expect_refused(tmp, "static", static)
    static_pie = build("static-pie", "-static-pie")
    if check(static_pie is not None, "build static-pie"):
        expect_refused(tmp, "static-pie", static_pie)
        check(inspect(static_pie)["linkage"] == "static-pie", "inspect static-pie")
    hello = build("hello")
    setuid = os.path.join(tmp, "setuid")
    shutil.copy(hello, setuid)
    os.chmod(setuid, 0o4755)
    expect_refused(tmp, "setuid", setuid)
    ok = os.path.join(tmp, "setuid.out")
    r = run([PATCH, "--app", "x", "--allow-setuid", "-o", ok, setuid])
    check(r.returncode == 0 and stat.S_IMODE(os.stat(ok).st_mode) == 0o4755,
          "allow-setuid keeps mode", r.stderr)
    caps = os.path.join(tmp, "caps")
    shutil.copy(hello, caps)
    if shutil.which("setcap") and run(["setcap", "cap_net_raw+ep", caps]).returncode == 0:
        expect_refused(tmp, "capabilities", caps)
    else:
        skip_case("capabilities", "setcap unavailable")
    truncated = os.path.join(tmp, "truncated")
    with open(hello, "rb") as f:
        data = f.read()
    for cut in (10, 63, 200, len(data) // 2):
        with open(truncated, "wb") as f:
            f.write(data[:cut])
        expect_refused(tmp, f"truncated at {cut}", truncated)
    text = os.path.join(tmp, "text")
    with open(text, "w") as f:
        f.write("#!/bin/sh\necho hi\n")
    expect_refused(tmp, "text file", text)
    m32 = build("m32", "-m32")
    if m32 is None:
        m32 = os.path.join(tmp, "m32")
        with open(m32, "wb") as f:  # a minimal ELF32 header is enough to be refused
            f.write(b"\x7fELF\x01\x01\x01" + bytes(9) + bytes([2, 0, 3, 0]) + bytes(36))
    expect_refused(tmp, "32-bit", m32)
    go_src = os.path.join(tmp, "go.c")
    with open(go_src, "w") as f:
        f.write('__attribute__((section(".go.buildinfo"), used)) static const char info[32] = '
                '"\\xff Go buildinf:";\nint main(void){return 0;}\n')
    go = build("fakego", source=go_src)
    expect_refused(tmp, "fake Go binary", go)
    check(inspect(go)["go"] is True, "inspect go")
    usage = run([PATCH, "--app", "bad id!", "-o", os.path.join(tmp, "x"), hello])
    check(usage.returncode == 2, "bad app id is a usage error", usage.stderr)
    check(run([PATCH]).returncode == 2, "no arguments is a usage error")


GO_NOTE_PROGRAM = r"""
/* The note the Go linker writes (owner "Go", type 4: the build id), in a PT_NOTE. */
__asm__(".section .note.go.buildid,\"a\",@note\n.balign 4\n"
        ".long 3\n.long 8\n.long 4\n.asciz \"Go\"\n.balign 4\n.ascii \"buildid0\"\n.previous\n");
int main(void) { return 0; }
"""


def expect_refused_saying(tmp, name, path, *phrases):
    """Refused as expect_refused requires, and the one line says each of `phrases`."""
    expect_refused(tmp, name, path)
    r = run([PATCH, "--app", "x", "-o", os.path.join(tmp, "refused.out"), path])
    missing = [p for p in phrases if p not in r.stderr]
    check(not missing, f"refusal of {name} says what to do", f"{missing} not in {r.stderr!r}")


def test_refusal_advice(tmp):
    """Refusals name the way out: the interpreter of a #! script, enforced mode for
    static, static-pie and Go programs."""
    script = os.path.join(tmp, "x.py")
    with open(script, "w") as f:
        f.write("#!/usr/bin/python3\nprint('hi')\n")
    os.chmod(script, 0o755)
    expect_refused_saying(tmp, "python script", script,
                          f"{script}: a script run by /usr/bin/python3; patch the interpreter")
    check(f"a script run by /usr/bin/python3" in run([PATCH, "--inspect", script]).stdout,
          "inspect names the interpreter")
    env_script = os.path.join(tmp, "env.sh")
    with open(env_script, "w") as f:
        f.write("#!/usr/bin/env -S sh -e\necho hi\n")
    expect_refused_saying(tmp, "env script", env_script,
                          f"a script run by sh through /usr/bin/env ({shutil.which('sh')})")
    src = os.path.join(tmp, "hello.c")
    for name, flags in (("static", ["-static"]), ("static-pie", ["-static-pie"])):
        exe = os.path.join(tmp, "advice-" + name)
        if check(run(["gcc", *flags, src, "-o", exe]).returncode == 0, f"build {name}"):
            expect_refused_saying(tmp, name, exe, "supervised mode", f"netleash-run -- {exe}")
    go_src = os.path.join(tmp, "gonote.c")
    with open(go_src, "w") as f:
        f.write(GO_NOTE_PROGRAM)
    go = os.path.join(tmp, "gonote")
    if check(run(["gcc", go_src, "-o", go]).returncode == 0, "build Go note program"):
        check(inspect(go)["go"] is True, "Go found by its .note.go.buildid note")
        expect_refused_saying(tmp, "Go note", go, "Go binary", f"netleash-run -- {go}")


def patch_stderr(shim, *args):
    r = run([PATCH, "--app", "w", "--shim", shim, *args])
    return r.returncode, r.stderr


def test_copy_warnings(tmp, shim):
    """-o into another directory warns (specifically for $ORIGIN); --allow-setuid says
    the copy keeps its setuid bit or file capabilities."""
    src = os.path.join(tmp, "hello.c")
    exe = os.path.join(tmp, "warn")
    run(["gcc", src, "-o", exe])
    elsewhere = os.path.join(tmp, "elsewhere")
    os.makedirs(elsewhere, exist_ok=True)
    rc, err = patch_stderr(shim, "-o", os.path.join(tmp, "warn.same"), exe)
    check(rc == 0 and err == "", "-o in the same directory is quiet", err)
    rc, err = patch_stderr(shim, "-o", os.path.join(elsewhere, "warn"), exe)
    check(rc == 0 and err.count("\n") == 1 and
          f"warning: the copy is in {elsewhere}, not in {tmp}" in err and "libjli.so" in err and
          "--in-place" in err and "whole directory" in err, "-o elsewhere warns", err)
    origin = os.path.join(tmp, "origin")
    run(["gcc", src, "-o", origin, "-Wl,-rpath,$ORIGIN/../lib", "-Wl,--enable-new-dtags"])
    rc, err = patch_stderr(shim, "-o", os.path.join(elsewhere, "origin"), origin)
    check(rc == 0 and 'its RUNPATH "$ORIGIN/../lib" finds libraries relative to ' + tmp in err and
          "--in-place" in err, "-o elsewhere names $ORIGIN", err)
    rc, err = patch_stderr(shim, "--in-place", origin)
    check(rc == 0 and "warning" not in err, "in place does not warn", err)

    setuid = os.path.join(tmp, "warn-setuid")
    shutil.copy(exe, setuid)
    os.chmod(setuid, 0o4755)
    rc, err = patch_stderr(shim, "--allow-setuid", "-o", setuid + ".out", setuid)
    check(rc == 0 and "keeps its setuid/setgid bit" in err and
          stat.S_IMODE(os.stat(setuid + ".out").st_mode) == 0o4755, "allow-setuid says setuid", err)
    ping = os.path.join(tmp, "ping")
    shutil.copy("/usr/bin/ping", ping)  # a real program that Debian ships with cap_net_raw
    if not (shutil.which("setcap") and run(["setcap", "cap_net_raw+ep", ping]).returncode == 0):
        skip_case("allow-setuid capabilities", "setcap unavailable")
        return
    rc, err = patch_stderr(shim, "--allow-setuid", "-o", ping + ".out", ping)
    caps = run(["getcap", ping + ".out"]).stdout
    check(rc == 0 and "keeps its file capabilities" in err and "cap_net_raw" in caps,
          "allow-setuid says capabilities", f"{err!r} {caps!r}")
    rc, err = patch_stderr(shim, "--allow-setuid", "--in-place", ping)
    check(rc == 0 and "keeps its file capabilities" in err, "allow-setuid in place says so", err)


def test_multi_in_place(tmp, shim):
    src = os.path.join(tmp, "hello.c")
    files = []
    for i in range(3):
        exe = os.path.join(tmp, f"multi{i}")
        run(["gcc", src, "-o", exe])
        os.chmod(exe, 0o750)
        files.append(exe)
    text = os.path.join(tmp, "multi-text")
    with open(text, "w") as f:
        f.write("not elf\n")
    run([PATCH, "--app", "m", "--shim", shim, "--in-place", files[0]])
    r = run([PATCH, "--app", "m", "--shim", shim, "--in-place", *files, text])
    check(r.returncode == 3, "multi in-place exit status", str(r.returncode))
    check(r.stderr.strip().splitlines()[-1] ==
          "netleash-patch: 2 patched, 1 unchanged, 1 refused, 0 failed",
          "multi in-place summary", r.stderr)
    for exe in files:
        check(inspect(exe)["app"] == "m" and stat.S_IMODE(os.stat(exe).st_mode) == 0o750,
              "multi in-place result", exe)
    r = run([PATCH, "--remove", "--in-place", *files])
    check(r.returncode == 0 and all(not inspect(f)["patched"] for f in files), "multi remove")


def test_moved_table(tmp, shim):
    """No section headers and no redundant PT_NOTE: the program header table moves into
    the new segment (the last-resort layout); the result must still run."""
    import struct
    exe = os.path.join(tmp, "moved")
    run(["gcc", "-pie", os.path.join(tmp, "hello.c"), "-o", exe])
    data = bytearray(open(exe, "rb").read())
    struct.pack_into("<Q", data, 0x28, 0)  # e_shoff
    struct.pack_into("<HH", data, 0x3C, 0, 0)  # e_shnum, e_shstrndx
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phnum, = struct.unpack_from("<H", data, 0x38)
    for i in range(phnum):
        if struct.unpack_from("<I", data, phoff + i * 56)[0] == 0x6474E553:  # PT_GNU_PROPERTY
            struct.pack_into("<I", data, phoff + i * 56, 0x6474E5FF)
    open(exe, "wb").write(data)
    base_rc, base_out, _, _ = run_program(tmp, exe)
    out = exe + ".patched"
    r = run([PATCH, "--app", "moved", "--shim", shim, "-o", out, exe])
    rc, stdout, marker, _ = run_program(tmp, out)
    check(r.returncode == 0 and rc == base_rc and stdout == base_out and marker == "loaded\n",
          "moved program header table runs", r.stderr + stdout)
    check(inspect(out)["app"] == "moved", "moved program header table inspect")
    oracle("moved program header table", exe, out, "moved", shim)


OWN_PREINIT = r"""
#include <stdio.h>
static int preinit_ran;
static void own_preinit(int argc, char** argv, char** envp) { preinit_ran = 1; }
__attribute__((section(".preinit_array"), used)) static void (*const preinit[])(int, char**, char**) = {own_preinit};
int main(void) { printf("own preinit %d\n", preinit_ran); return 0; }
"""


def test_own_preinit_array(tmp, shim):
    """A program with a DT_PREINIT_ARRAY of its own (sanitizer runtimes have one): no hook,
    the shim's constructor seals; the program's own preinit function still runs."""
    src = os.path.join(tmp, "own_preinit.c")
    with open(src, "w") as f:
        f.write(OWN_PREINIT)
    exe = os.path.join(tmp, "own_preinit")
    run(["gcc", src, "-o", exe, "-L", tmp, "-Wl,--no-as-needed", "-lnlctor", "-Wl,-rpath," + tmp])
    out = exe + ".patched"
    r = run([PATCH, "--app", "own", "--shim", shim, "-o", out, exe])
    probe = []
    rc, stdout, marker, _ = run_program(tmp, out, sealed_out=probe)
    check(r.returncode == 0 and rc == 0 and stdout == "own preinit 1\n" and marker == "loaded\n" and
          probe == ["unsealed no-wx\n"], "own DT_PREINIT_ARRAY kept", f"{r.stderr} {stdout!r} {probe}")
    info = inspect(out)
    check(info["seal"] == "constructor" and "DT_PREINIT_ARRAY" in (info["seal_reason"] or ""),
          "own DT_PREINIT_ARRAY inspect", str(info))
    oracle("own DT_PREINIT_ARRAY", exe, out, "own", shim)


def main():
    tmp = tempfile.mkdtemp(prefix="netleash-patch-it-")
    try:
        shim_src = os.path.join(tmp, "shim.c")
        with open(shim_src, "w") as f:
            f.write(SHIM)
        shim = os.path.join(tmp, "libnltest.so")
        r = run(["gcc", "-shared", "-fPIC", shim_src, "-o", shim, "-ldl"])
        if r.returncode != 0:
            print(r.stderr)
            return 1
        ctor_src = os.path.join(tmp, "nlctor.c")
        with open(ctor_src, "w") as f:
            f.write(CTOR_LIBRARY)
        r = run(["gcc", "-shared", "-fPIC", ctor_src, "-o", os.path.join(tmp, "libnlctor.so")])
        if r.returncode != 0:
            print(r.stderr)
            return 1
        test_own_preinit_array(tmp, shim)
        test_refusals(tmp, shim)
        test_refusal_advice(tmp)
        test_copy_warnings(tmp, shim)
        test_multi_in_place(tmp, shim)
        test_moved_table(tmp, shim)
        test_matrix(tmp, shim)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} checks passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
