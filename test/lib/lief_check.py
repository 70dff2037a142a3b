"""The LIEF oracle from Python: run test/patcher/lief_check.cc (`lief-check`) on a file
netleash-patch wrote, against the file it read. LIEF, an ELF parser independent of the
patcher's own, then says whether the segments, the dynamic section, the identity note, the
dynamic symbols and the relocations are what the patch promises."""
import json
import subprocess


def lief_check(checker, patcher, original, output, app=None, shim=None, seal=None):
    """None when LIEF's view of OUTPUT matches, else the checker's report (one line per
    mismatch). ORIGINAL is the unpatched program; without APP, OUTPUT is what
    `netleash-patch --remove` wrote. The seal the checker expects ("preinit": a
    DT_PREINIT_ARRAY hook must be there) is SEAL, by default the one the patcher reports
    for OUTPUT (`--inspect`)."""
    if app is None:
        args = ["--removed"]
    elif seal is not None:
        args = ["--app", app, "--shim", shim, "--seal", seal]
    else:
        r = subprocess.run([patcher, "--inspect", "--json", output], capture_output=True, text=True)
        if r.returncode != 0:
            return f"netleash-patch --inspect exit {r.returncode}: {r.stderr.strip()}"
        seal = json.loads(r.stdout.splitlines()[0])["seal"]
        args = ["--app", app, "--shim", shim, "--seal", seal]
    r = subprocess.run([checker, *args, original, output], capture_output=True, text=True,
                       errors="replace")
    return None if r.returncode == 0 else (r.stderr.strip() or f"lief-check exit {r.returncode}")
