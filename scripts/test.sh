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

# One closing line any CI can read, counted from meson's own log.
python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
for line in open(sys.argv[1]):
    result = json.loads(line)["result"]
    key = {"OK": "passed", "EXPECTEDFAIL": "passed", "SKIP": "skipped"}.get(result, "failed")
    counts[key] += 1
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
PY
exit $status
