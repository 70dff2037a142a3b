#!/usr/bin/env bash
# Builds netleash and runs every test suite: unit, integration, corpus.
# Usage: scripts/test.sh [meson test args...]   (e.g. --suite unit)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build >/dev/null

args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--suite unit --suite integration --suite corpus)
status=0
meson test -C build --print-errorlogs --num-processes "$(nproc)" "${args[@]}" || status=$?

# One closing line any CI can read, counted from meson's own log, then one
# line per skipped test with its reason (the test's "SKIP: ..." line, or its
# last line of output).
python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
skipped = []
for line in open(sys.argv[1]):
    test = json.loads(line)
    key = {"OK": "passed", "EXPECTEDFAIL": "passed", "SKIP": "skipped"}.get(test["result"], "failed")
    counts[key] += 1
    if key == "skipped":
        output = [l.strip() for l in (test.get("stdout") or "").splitlines() + (test.get("stderr") or "").splitlines()
                  if l.strip()]
        reasons = [l[len("SKIP:"):].strip() for l in output if l.startswith("SKIP:")]
        skipped.append((test["name"], reasons[-1] if reasons else output[-1] if output else "no reason given"))
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
for name, reason in skipped:
    print(f"  skipped {name}: {reason}")
PY
exit $status
