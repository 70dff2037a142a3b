#!/bin/sh
# Fills a corpus directory with a few real executables (copied at run time, never committed),
# one of them already patched so the re-patch/remove paths are reached.
# Usage: seed_corpus.sh CORPUS_DIR [PATH/TO/netleash-patch]
set -eu
dir=$1
mkdir -p "$dir"
for f in /usr/bin/true /usr/bin/env /usr/bin/nc.openbsd /usr/bin/xargs; do
  [ -f "$f" ] && cp "$f" "$dir/$(basename "$f")"
done
if [ $# -ge 2 ] && [ -f /usr/bin/true ]; then
  "$2" --app seed --in-place "$dir/true" >/dev/null 2>&1 || true
fi
