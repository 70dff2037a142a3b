#!/bin/sh
# Checks the packages built by build-deb.sh: each installs what it must, none
# depends on or links LIEF, and lintian reports no error.  usage: packaging/check-deb.sh DEBDIR
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DEBDIR" >&2; exit 2; }
dir=$1
status=0

require() {  # require PACKAGE PATH...
  deb=$(ls "$dir"/"$1"_*.deb)
  listing=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\.||')
  shift
  for path in "$@"; do
    if ! printf '%s\n' "$listing" | grep -qx "$path"; then
      echo "check-deb: $(basename "$deb") lacks $path" >&2
      status=1
    fi
  done
}

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
require netleash /usr/sbin/netleashd /usr/bin/netleash-patch /usr/bin/netleash-run /usr/bin/netleashctl \
  /lib/systemd/system/netleashd.service /lib/systemd/system/netleashd.socket \
  /lib/systemd/system/netleashd-control.socket \
  /usr/lib/tmpfiles.d/netleash.conf /etc/netleash/netleashd.json /etc/netleash/apps.d/example.json \
  /usr/share/netleash/netleash.schema.json /usr/share/netleash/systemd/netleash-enforced.conf \
  /usr/share/man/man1/netleash-patch.1.gz /usr/share/man/man1/netleash-run.1.gz \
  /usr/share/man/man1/netleashctl.1.gz \
  /usr/share/man/man5/netleash.json.5.gz /usr/share/man/man8/netleashd.8.gz \
  /usr/sbin/netleash-repatch /etc/netleash/repatch.list /etc/dpkg/dpkg.cfg.d/netleash-repatch \
  /usr/share/man/man8/netleash-repatch.8.gz
require libnetleash1 "/usr/lib/$multiarch/libnetleash.so.1"

# LIEF is a test-only dependency (test/patcher/lief_check.cc reads the patcher's output
# back): no package depends on it, no installed ELF file links it.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for deb in "$dir"/*.deb; do
  if dpkg-deb -f "$deb" Depends Pre-Depends Recommends | grep -qi lief; then
    echo "check-deb: $(basename "$deb") depends on LIEF" >&2
    status=1
  fi
  rm -rf "$scratch/root"
  dpkg-deb -x "$deb" "$scratch/root"
  find "$scratch/root" -type f > "$scratch/files"
  while IFS= read -r file; do
    if readelf -d "$file" 2>/dev/null | grep -qi 'NEEDED.*liblief'; then
      echo "check-deb: $(basename "$deb"): ${file#"$scratch/root"} links LIEF" >&2
      status=1
    fi
  done < "$scratch/files"
done

if ! lintian --fail-on error "$dir"/*.changes; then
  echo "check-deb: lintian reports errors" >&2
  status=1
fi
[ $status -eq 0 ] && echo "check-deb: packages complete, no LIEF, lintian clean"
exit $status
