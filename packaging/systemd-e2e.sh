#!/bin/sh
# The packages under a real systemd: boots a minimal Debian 12 with
# systemd-nspawn (systemd as PID 1), installs the built .debs there with apt,
# and checks what an operator would do: the sockets and the daemon come up
# from the package alone; a patched curl in a unit with netleash-enforced.conf
# reaches an allowed server and is refused elsewhere (audited); an unpatched
# curl in the same unit reaches nothing; `systemctl reload` applies a policy
# and refuses a broken one with FILE:LINE:COL while the daemon keeps running;
# `netleashctl status` counts it all.
#
# usage: packaging/systemd-e2e.sh DEB_DIR
#
# Needs root, network access to the Debian mirror (debootstrap, apt inside)
# and a kernel that lets systemd-nspawn boot; exits 77 (skipped) when it
# cannot boot one, except under CI (CI=true), where that fails. The tools it
# uses (debootstrap, systemd-nspawn, pgrep, nsenter) are installed when
# missing. The root file system is cached in ${NETLEASH_E2E_ROOT:-
# /var/tmp/netleash-e2e-root} (about 300 MB) for later runs. Every process of
# the container is gone when it exits, whatever happened.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DEB_DIR" >&2; exit 2; }
debs=$(realpath "$1")
root=${NETLEASH_E2E_ROOT:-/var/tmp/netleash-e2e-root}
machine=netleash-e2e-$$
# A test that cannot set up skips, but not under CI, which must run it.
skip() {
  if [ "${CI:-}" = true ]; then echo "systemd-e2e: FAIL: cannot run under CI (CI=true): $*" >&2; exit 1; fi
  echo "systemd-e2e: SKIP: $*"
  exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root"

for tool in systemd-nspawn debootstrap pgrep nsenter; do
  command -v $tool >/dev/null && continue
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap systemd-container procps util-linux >/dev/null
  break
done
for tool in systemd-nspawn debootstrap pgrep nsenter; do
  command -v $tool >/dev/null || { echo "systemd-e2e: FAIL: $tool is missing after installing its package" >&2; exit 1; }
done
if [ ! -x "$root/usr/lib/systemd/systemd" ]; then
  rm -rf "$root"
  # The host's Debian mirror (deb822 or one-line sources), else Debian's own.
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -oE '^(deb|URIs:) +https?://[^ ]+/debian/?( |$)' | head -1 | sed 's/^[^ ]* *//; s/ *$//')
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,python3 \
    bookworm "$root" "${mirror:-http://deb.debian.org/debian}" >/dev/null
fi
rm -rf "$root/var/tmp/netleash"
mkdir -p "$root/var/tmp/netleash"
cp "$debs"/netleash_*.deb "$debs"/libnetleash1_*.deb "$root/var/tmp/netleash/"

# --keep-unit --register=no: there is no systemd or machined on the host.
log=$(mktemp)
systemd-nspawn -q -D "$root" -b --console=pipe --register=no --keep-unit -M "$machine" \
  >"$log" 2>&1 &
nspawn=$!
pid1=
# The processes of the container's PID namespace (systemd, journald, dbus,
# logind, ...), found by the namespace's inode: it outlives the PIDs we know.
container_processes() {
  for ns in /proc/[0-9]*/ns/pid; do
    [ "$(readlink "$ns" 2>/dev/null)" = "$pid_ns" ] && { p=${ns#/proc/}; echo "${p%%/*}"; }
  done
  return 0
}
# Polls `$@` for up to $1 tenths of a second; true once it holds.
within() {
  tenths=$1
  shift
  for _ in $(seq "$tenths"); do "$@" && return 0; sleep 0.1; done
  "$@"
}
nspawn_gone() { ! kill -0 "$nspawn" 2>/dev/null; }
container_empty() { [ -z "$(container_processes)" ]; }
cleanup() {
  status=$?
  trap - EXIT
  # Boot may have failed before we saw the container's systemd.
  [ -n "$pid1" ] || pid1=$(pgrep -P "$nspawn" | head -1 || true)
  pid_ns=
  [ -n "$pid1" ] && pid_ns=$(readlink "/proc/$pid1/ns/pid" 2>/dev/null || true)
  # A clean shutdown first; then SIGKILL to the container's PID 1, which makes
  # the kernel kill every other process of its PID namespace (killing nspawn
  # alone would leave them running); nspawn exits once its child is gone.
  [ -n "$pid1" ] && nsenter -t "$pid1" -a systemctl poweroff >/dev/null 2>&1 || true
  if ! within 150 nspawn_gone && [ -n "$pid1" ]; then
    echo "systemd-e2e: the container did not power off; killing it" >&2
    kill -9 "$pid1" 2>/dev/null || true
  fi
  within 100 nspawn_gone || kill -9 "$nspawn" 2>/dev/null || true
  wait "$nspawn" 2>/dev/null || true
  if [ -n "$pid_ns" ] && ! within 100 container_empty; then
    # Only reachable if PID 1 was not the namespace's init: kill what is left.
    container_processes | xargs -r kill -9 2>/dev/null || true
    within 50 container_empty ||
      { echo "systemd-e2e: FAIL: container processes survive: $(container_processes | tr '\n' ' ')" >&2; status=1; }
  fi
  rm -f "$log"
  exit $status
}
trap cleanup EXIT

in_container() { nsenter -t "$pid1" -a "$@"; }
state=
for _ in $(seq 300); do  # up to 30 s to boot
  pid1=$(pgrep -P "$nspawn" -x systemd || true)
  [ -n "$pid1" ] && state=$(in_container systemctl is-system-running 2>/dev/null || true)
  case $state in running | degraded) break ;; esac
  kill -0 "$nspawn" 2>/dev/null || break
  sleep 0.1
done
case $state in
  running | degraded) ;;
  *) cat "$log"; skip "systemd-nspawn could not boot a container here" ;;
esac

in_container sh -eu <<'EOF'
fail() { echo "systemd-e2e: FAIL: $*" >&2; exit 1; }
cd /var/tmp/netleash
apt-get update -qq
# --reinstall: a cached root may hold an earlier build of the same version.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall ./netleash_*.deb ./libnetleash1_*.deb curl \
  >apt.log 2>&1 || { cat apt.log; fail "apt install of the packages"; }
for unit in netleashd.socket netleashd-control.socket; do
  systemctl is-active -q "$unit" || fail "$unit is not active after the install"
done
[ "$(stat -c %U:%a /run/netleash/netleashd.sock.ctl)" = root:600 ] || fail "control socket not root's 0600"

echo hello > index.html
for port in 18081 18082; do
  systemd-run -q --unit "web$port" -p WorkingDirectory=/var/tmp/netleash \
    python3 -m http.server --bind 127.0.0.1 "$port"
done
for _ in $(seq 100); do
  curl -s -o /dev/null http://127.0.0.1:18081/ && curl -s -o /dev/null http://127.0.0.1:18082/ && break
  sleep 0.1
done

netleash-patch --app shop -o /usr/local/bin/shop-curl /usr/bin/curl
echo '{ "app": "shop", "outbound": [ { "cidr": "127.0.0.1", "ports": [18081] } ] }' \
  > /etc/netleash/apps.d/shop.json
systemctl try-reload-or-restart netleashd || fail "reload"
for port in 18081 18082; do
  mkdir -p "/etc/systemd/system/shop$port.service.d"
  cp /usr/share/netleash/systemd/netleash-enforced.conf "/etc/systemd/system/shop$port.service.d/"
  printf '[Service]\nType=oneshot\nExecStart=/usr/local/bin/shop-curl -sS --max-time 10 http://127.0.0.1:%s/index.html\n' \
    "$port" > "/etc/systemd/system/shop$port.service"
done
printf '[Service]\nType=oneshot\nExecStart=/usr/bin/curl -sS --max-time 5 http://127.0.0.1:18081/index.html\n' \
  > /etc/systemd/system/plain.service
mkdir -p /etc/systemd/system/plain.service.d
cp /usr/share/netleash/systemd/netleash-enforced.conf /etc/systemd/system/plain.service.d/
systemctl daemon-reload

systemctl start shop18081.service || fail "the patched curl could not reach the allowed server"
journalctl -u shop18081 -o cat | grep -qx hello || fail "the allowed response did not arrive"
systemctl start shop18082.service 2>/dev/null && fail "the patched curl reached a denied server"
systemctl start plain.service 2>/dev/null && fail "an unpatched curl in the enforced unit reached the server"
journalctl -u netleashd -o cat | grep -q '"app":"shop".*"dst":"127.0.0.1:18081","verdict":"allow"' ||
  fail "no allow audit line"
journalctl -u netleashd -o cat | grep -q '"app":"shop".*"dst":"127.0.0.1:18082","verdict":"deny"' ||
  fail "no deny audit line"
status=$(netleashctl status --json)
echo "$status" | python3 -c '
import json, sys
shop = json.load(sys.stdin)["apps"]["shop"]
sys.exit(0 if (shop["allows"], shop["denies"]) == (1, 1) and shop["bytes_received"] > 0 else 1)' ||
  fail "netleashctl status: $status"

# A leashed program that runs across "systemctl restart netleashd" keeps its
# network: its process tree waits in the file descriptor store.
netleash-patch --app shop -o /usr/local/bin/shop-python /usr/bin/python3 2>/dev/null
mkfifo go
systemd-run -q --unit shoppy -p WorkingDirectory=/var/tmp/netleash /usr/local/bin/shop-python -c '
import subprocess, urllib.request
while True:
    with open("go") as f:
        f.read()
    try:
        urllib.request.urlopen("http://127.0.0.1:18081/index.html", timeout=10).read()
        child = subprocess.run(["curl", "-sS", "--max-time", "10", "http://127.0.0.1:18081/index.html"],
                               capture_output=True).returncode
        result = "ok" if child == 0 else "child %d" % child
    except Exception as e:
        result = repr(e)
    with open("result", "a") as f:
        f.write(result + "\n")
'
ask() {  # $1: how many results there should be then
  echo go > go
  for _ in $(seq 100); do [ "$(wc -l < result 2>/dev/null || echo 0)" -ge "$1" ] && break; sleep 0.1; done
  [ "$(sed -n "$1p" result 2>/dev/null)" = ok ] || fail "leashed program, request $1: $(cat result 2>/dev/null)"
}
ask 1
systemctl restart netleashd || fail "restart"
journalctl -u netleashd -o cat | grep -q 'restored [1-9][0-9]* process trees' || fail "no process tree restored"
ask 2
systemctl stop shoppy

echo '{ "app": "shop", "outbound": [ { "cidr": "127.0.0.1", "ports": [18081], } ] }' \
  > /etc/netleash/apps.d/shop.json
systemctl reload netleashd 2>/dev/null && fail "a broken policy was reloaded"
journalctl -u netleashd -o cat | grep -q '/etc/netleash/apps.d/shop.json:1:[0-9]*: ' || fail "no FILE:LINE:COL error"
systemctl is-active -q netleashd || fail "the daemon stopped after a failed reload"
systemctl start shop18081.service || fail "the old policy was not kept"
echo "systemd-e2e: packages under systemd $(systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p'): sockets, enforced unit, allow, deny, unpatched refused, status, process trees across a restart, reload: ok"
EOF
