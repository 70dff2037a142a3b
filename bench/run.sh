#!/bin/sh
# Run every benchmark in bench/ (see README.md). Installs the tools they need,
# builds netleash, and leaves the reports in bench/out/.
#   NETLEASH_BUILD=DIR  meson build directory to use (default: <repo>/build)
set -eu
bench=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$bench")
build=${NETLEASH_BUILD:-$repo/build}

# Debian packages the benchmarks need, as "command:package" pairs.
missing=
for pair in patchelf:patchelf node:nodejs /usr/bin/time:time wrk:wrk /usr/sbin/nginx:nginx-light \
        iperf3:iperf3 proxychains4:proxychains4 microsocks:microsocks strace:strace; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
done
if [ -n "$missing" ]; then
    apt-get install -y $missing
fi

[ -f "$build/build.ninja" ] || meson setup "$build" "$repo"
ninja -C "$build"

# Every benchmark is bench/*_bench.py, takes --build-dir and writes bench/out/.
for script in "$bench"/*_bench.py; do
    echo "== $(basename "$script")"
    /usr/bin/python3 "$script" --build-dir "$build"
done
