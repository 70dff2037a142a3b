#!/usr/bin/env python3
"""lief-check finds a broken patch: a copy of /usr/bin/true patched by netleash-patch passes
it, and so does the same copy after --remove; each copy corrupted one way (the shim's
DT_NEEDED removed, a relocation changed in either table, the identity note, the preinit hook's
entries, the netleash segment's alignment, an original segment, a dynamic symbol) fails it,
with a message naming what is wrong.

Usage: lief_check_test.py PATH/TO/netleash-patch PATH/TO/lief-check
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(HERE, "../lib")))
from lief_check import lief_check  # noqa: E402

PATCH, CHECKER = (os.path.abspath(p) for p in sys.argv[1:3])
SHIM = "libnetleash.so.1"
PT_LOAD, PT_DYNAMIC = 1, 2
DT_NULL, DT_SYMTAB, DT_RELA, DT_PREINIT_ARRAY = 0, 6, 7, 32
failures = []


def segments(data):
    """(index, p_type, p_flags, p_offset, p_vaddr, p_filesz) of each program header."""
    phoff, = struct.unpack_from("<Q", data, 0x20)
    entsize, phnum = struct.unpack_from("<HH", data, 0x36)
    return [(i, *struct.unpack_from("<IIQQ8xQ", data, phoff + i * entsize)) for i in range(phnum)]


def phdr_at(data, index):
    phoff, = struct.unpack_from("<Q", data, 0x20)
    entsize, = struct.unpack_from("<H", data, 0x36)
    return phoff + index * entsize


def file_offset(data, vaddr):
    for _, kind, _, offset, start, size in segments(data):
        if kind == PT_LOAD and start <= vaddr < start + size:
            return offset + vaddr - start
    raise ValueError(f"{vaddr:#x} not in the file")


def dynamic(data):
    """(file offset, tag, value) of each dynamic entry before the first DT_NULL."""
    offset = next(s[3] for s in segments(data) if s[1] == PT_DYNAMIC)
    entries = []
    while True:
        tag, value = struct.unpack_from("<qQ", data, offset)
        if tag == DT_NULL:
            return entries
        entries.append((offset, tag, value))
        offset += 16


def drop_shim_needed(data):
    entries = dynamic(data)
    start = entries[0][0]
    end = entries[-1][0] + 16
    data[start:end] = data[start + 16:end] + bytes(16)


def change_relocation(which):
    """Adds 8 to the addend of the first entry of the first (original) or last (the preinit
    hook's copy, which glibc applies) DT_RELA table."""
    def corrupt(data):
        tables = [value for _, tag, value in dynamic(data) if tag == DT_RELA]
        at = file_offset(data, tables[which]) + 16
        addend, = struct.unpack_from("<q", data, at)
        struct.pack_into("<q", data, at, addend + 8)
    return corrupt


def change_app(data):
    at = data.index(b"test.app\0")
    data[at:at + 8] = b"test.apq"


def drop_preinit(data):
    at = next(offset for offset, tag, _ in dynamic(data) if tag == DT_PREINIT_ARRAY)
    struct.pack_into("<q", data, at, DT_NULL)  # ends the table: the hook's block is gone


def last_load(data):
    return [s for s in segments(data) if s[1] == PT_LOAD][-1]


def misalign_segment(data):
    index, _, _, offset, vaddr, _ = last_load(data)
    struct.pack_into("<QQ", data, phdr_at(data, index) + 8, offset + 16, vaddr + 16)


def change_first_load(data):
    index = next(s[0] for s in segments(data) if s[1] == PT_LOAD)
    flags, = struct.unpack_from("<I", data, phdr_at(data, index) + 4)
    struct.pack_into("<I", data, phdr_at(data, index) + 4, flags | 1)  # PF_X


def change_symbol(data):
    symtab = next(value for _, tag, value in dynamic(data) if tag == DT_SYMTAB)
    at = file_offset(data, symtab) + 24 + 8  # symbol 1's st_value
    value, = struct.unpack_from("<Q", data, at)
    struct.pack_into("<Q", data, at, value + 0x1234)


CORRUPTIONS = [
    ("shim DT_NEEDED removed", drop_shim_needed,
     f"first dynamic entry: expected NEEDED {SHIM}, found NEEDED libc.so.6"),
    ("relocation changed in the original table", change_relocation(0), "relocations (DT_RELA): "),
    ("relocation changed in the table the loader applies", change_relocation(-1),
     "relocations the loader applies (last DT_RELA), besides the slot's: "),
    ("identity note changed", change_app, 'identity note: expected app "test.app"'),
    ("preinit hook entries dropped", drop_preinit,
     "entries after the original ones: "
     "expected [ PREINIT_ARRAY PREINIT_ARRAYSZ RELA RELASZ ], found [ ]"),
    ("netleash segment misaligned", misalign_segment, "netleash PT_LOAD not aligned to 0x1000"),
    ("original segment changed", change_first_load, "PT_LOAD at 0x0 changed or missing"),
    ("dynamic symbol changed", change_symbol, "dynamic symbol 1 (of "),
]


def check(cond, name, detail=""):
    if not cond:
        failures.append(name)
        print(f"FAIL {name}: {detail}", flush=True)


def main():
    tmp = tempfile.mkdtemp(prefix="netleash-lief-check-")
    try:
        original, patched, removed = (os.path.join(tmp, n) for n in ("true", "patched", "removed"))
        shutil.copy("/usr/bin/true", original)
        r = subprocess.run([PATCH, "--app", "test.app", "--shim", SHIM, "-o", patched, original],
                           capture_output=True, text=True)
        check(r.returncode == 0, "patch", r.stderr)
        report = lief_check(CHECKER, PATCH, original, patched, "test.app", SHIM)
        check(report is None, "the intact patched file passes", report)
        subprocess.run([PATCH, "--remove", "-o", removed, patched], check=True)
        report = lief_check(CHECKER, PATCH, original, removed)
        check(report is None, "the --remove output passes", report)
        good = open(patched, "rb").read()
        for name, corrupt, expected in CORRUPTIONS:
            data = bytearray(good)
            corrupt(data)
            broken = os.path.join(tmp, "broken")
            with open(broken, "wb") as f:
                f.write(data)
            # The seal the patcher reported for the intact file: a corrupted one may say less.
            report = lief_check(CHECKER, PATCH, original, broken, "test.app", SHIM, "preinit") or ""
            check(f"lief-check: {broken}: {expected}" in report, name,
                  f"expected {expected!r} in {report!r}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(CORRUPTIONS) + 3 - len(failures)} checks passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
