#!/usr/bin/env bash
# Installs the Debian 12 packages netleash needs to build, test and demo.
# Idempotent and quiet when everything is already there. Needs root (or sudo).
set -euo pipefail

packages=(
  # build
  meson ninja-build pkg-config g++ clang lld mold libclang-rt-14-dev
  libuv1-dev libsodium-dev nlohmann-json3-dev catch2 libc-ares-dev libsystemd-dev
  # Debian packaging and unit checks (dpkg-buildpackage refuses to start without
  # build-essential, an implicit build dependency nothing else pulls in)
  build-essential debhelper dpkg-dev systemd lintian
  # ELF tooling the patcher tests compare against (LIEF: the independent parser that
  # reads every patched file back, test/patcher/lief_check.cc; tests only)
  liblief-dev binutils elfutils patchelf file libcap2-bin
  # real programs the integration tests patch and run
  python3 python3-dissononce python3-jsonschema curl wget git netcat-openbsd nodejs socat strace dnsutils dnsmasq-base iproute2 iputils-ping
  nginx-light redis-server tcpdump
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
# Servers the tests start themselves (nginx, redis) must not be started by their
# packages: a policy-rc.d that says "no" for the length of the install.
policy_rc=/usr/sbin/policy-rc.d
if [ ! -e $policy_rc ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy_rc >/dev/null
  $sudo chmod 755 $policy_rc
  trap '$sudo rm -f $policy_rc' EXIT
fi
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
