#!/bin/sh
# Builds the Debian packages from a clean copy of the tree.
#
# usage: packaging/build-deb.sh OUTDIR [--worktree]
#
# The copy is `git archive HEAD` (what is committed), or with --worktree the
# files git would commit now (tracked and untracked, minus .gitignore'd build
# directories). packaging/debian/ becomes its debian/, dpkg-buildpackage -b
# runs there, and the .deb, .ddeb, .buildinfo and .changes files land in
# OUTDIR. Build dependencies must be installed (dpkg-checkbuilddeps says which).
set -eu
[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [--worktree]" >&2; exit 2; }
out=$(realpath -m "$1")
top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
version=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Version)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/netleash-$version
mkdir "$src"
if [ "${2:-}" = --worktree ]; then
  git -C "$top" ls-files -z --cached --others --exclude-standard |
    rsync -a --from0 --files-from=- --ignore-missing-args "$top/" "$src/"
else
  git -C "$top" archive --format=tar HEAD | tar -x -C "$src"
fi
cp -a "$src/packaging/debian" "$src/debian"
# Tests find the project's shared data (Noise test vectors) beside the tree.
[ -d "$top/../shared" ] && ln -s "$(realpath "$top/../shared")" "$tmp/shared"

(cd "$src" && dpkg-buildpackage -b -us -uc)

mkdir -p "$out"
for f in "$tmp"/*.deb "$tmp"/*.ddeb "$tmp"/*.buildinfo "$tmp"/*.changes; do
  [ -e "$f" ] && mv "$f" "$out/"
done
ls -l "$out"
