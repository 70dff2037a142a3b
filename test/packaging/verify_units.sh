#!/bin/sh
# Verifies the installed systemd units with systemd-analyze verify.
#
# usage: verify_units.sh BUILD_DIR PREFIX MESON
#
# The units name their programs by installed path (PREFIX/sbin/netleashd), and
# verify fails on a missing executable, so the build is installed into a
# temporary DESTDIR and the copies verified there have their Exec*= paths
# moved under it. What passes is therefore the layout `meson install` really
# produces: unit, binary and man page (Documentation=man:) all where the unit
# says. The enforced-mode drop-in is verified on a stand-in service.
set -eu
build=$1 prefix=$2 meson=$3
# Skipped (77) without it, except under CI (CI=true), which installs it: there a
# missing tool is a broken machine, not a reason to skip (test/lib/netleash_skip.py).
if ! command -v systemd-analyze >/dev/null; then
  [ "${CI:-}" = true ] && { echo "FAIL: systemd-analyze not found under CI (CI=true)" >&2; exit 1; }
  echo "SKIP: systemd-analyze not found"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
"$meson" install -C "$build" --destdir "$root" --no-rebuild --quiet >/dev/null

service=$(find "$root" -path '*/systemd/system/netleashd.service')
[ -n "$service" ] || { echo "netleashd.service was not installed"; exit 1; }
units=$tmp/units
mkdir -p "$units"
for unit in netleashd.service netleashd.socket netleashd-control.socket; do
  sed -E "s#^(Exec[A-Za-z]*=[-@:+!]*)$prefix/#\\1$root$prefix/#" \
    "$(dirname "$service")/$unit" > "$units/$unit"
done
grep -q "^ExecStart=$root$prefix/" "$units/netleashd.service" ||
  { echo "ExecStart= does not name a program under $prefix"; exit 1; }

dropin=$(find "$root" -name netleash-enforced.conf)
[ -n "$dropin" ] || { echo "netleash-enforced.conf was not installed"; exit 1; }
for app in app canary; do
  printf '[Unit]\nDescription=stand-in for a patched program\n\n[Service]\nExecStart=/bin/true\n' \
    > "$units/netleash-$app.service"
  mkdir -p "$units/netleash-$app.service.d"
  cp "$dropin" "$units/netleash-$app.service.d/"
done
# Proof that drop-ins are read at all: an unknown key there must be reported.
printf '[Service]\nNetleashVerifyCanary=1\n' > "$units/netleash-canary.service.d/canary.conf"

verify() {
  MANPATH=$root$prefix/share/man SYSTEMD_LOG_COLOR=0 \
    systemd-analyze verify --man=yes "$@" 2>&1
}
canary=$(cd "$units" && verify ./netleash-canary.service || true)
case $canary in
  *NetleashVerifyCanary*) ;;
  *) echo "systemd-analyze verify ignored a drop-in: $canary"; exit 1 ;;
esac
# Any output is a finding: verify warns about unknown keys but exits 0.
if ! out=$(cd "$units" && verify ./netleashd.socket ./netleashd-control.socket ./netleashd.service ./netleash-app.service) ||
   [ -n "$out" ]; then
  echo "systemd-analyze verify:"
  echo "$out"
  exit 1
fi
echo "verified: netleashd.socket netleashd-control.socket netleashd.service netleash-enforced.conf (systemd $(systemd-analyze --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p'))"
