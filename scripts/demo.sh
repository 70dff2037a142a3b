#!/usr/bin/env bash
# The netleash demo: patch real programs, run them through a real netleashd with
# the example policies in config/apps.d, and show what is allowed, what is
# denied, and the audit log the daemon wrote. Leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

# Only what the demo runs is built (not the test programs), and meson's own
# output stays visible: its progress, and any warning the compiler has.
echo "demo: installing packages (scripts/install-deps.sh; nothing to do when they are there)..."
scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
echo "demo: building netleash-patch, the shim, netleashd and netleashctl (about 3 minutes the first time on 2 CPUs, seconds after)..."
meson compile -C build netleash-patch netleash netleashd netleashctl
bin=$repo/build
patch=$bin/src/patcher/netleash-patch
daemon=$bin/src/netleashd/netleashd
shim=$bin/src/shim/libnetleash.so.1

work=$(mktemp -d -t netleash-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@" 2>&1 | sed 's/^/  /' || true; }

# Wait up to 10 s for a condition instead of sleeping a fixed time.
wait_for() {
  local deadline=$((SECONDS + 10))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || { echo "demo: timed out waiting for: $*" >&2; exit 1; }
    sleep 0.05
  done
}
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Ports named in config/apps.d/demo.json.
by_name_port=18080     # allowed by name: { "host": "localhost", "ports": [18080] }
denied_port=18081      # no rule
by_addr_port=18082     # allowed by address: { "cidr": "127.0.0.1", "ports": [18082] }
virtual_port=8080      # inbound: the app listens on 8080 ...
exposed_port=18090     # ... and the daemon really listens on 127.0.0.1:18090
for port in $by_name_port $denied_port $by_addr_port $exposed_port; do
  port_free $port || { echo "demo: port $port is in use; free it and retry" >&2; exit 1; }
done

step "Three local web servers (unpatched) on :$by_name_port, :$denied_port and :$by_addr_port"
for port in $by_name_port $denied_port $by_addr_port; do
  mkdir -p "$work/www$port"
  echo "hello from the server on port $port" > "$work/www$port/index.html"
  python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www$port" >/dev/null 2>&1 &
  pids+=($!)
  wait_for port_open $port
done

step "Patch real programs once, as app 'demo'"
show "$patch" --app demo --shim "$shim" -o "$work/curl" /usr/bin/curl
show "$patch" --app demo --shim "$shim" -o "$work/python3" /usr/bin/python3
show "$patch" --inspect "$work/curl"
show readelf -p .note.netleash.app "$work/curl"
show "$work/curl" --version

step "Start netleashd with the example policies (config/apps.d)"
show cat config/apps.d/demo.json
"$daemon" --socket "$work/netleashd.sock" --policy-dir config/apps.d \
  --audit-log "$work/audit.log" 2>"$work/netleashd.log" &
daemon_pid=$!
pids+=($daemon_pid)
wait_for test -S "$work/netleashd.sock"
export NETLEASH_SOCKET=$work/netleashd.sock

step "Allowed by name: python3 resolves localhost through the daemon, then connects"
show "$work/python3" -c "import urllib.request; print(urllib.request.urlopen('http://localhost:$by_name_port/').read().decode().strip())"
step "Allowed by address: curl to 127.0.0.1:$by_addr_port"
show "$work/curl" -sS "http://127.0.0.1:$by_addr_port/"

step "Denied: no rule for :$denied_port, a name no rule allows, a UDP datagram"
show "$work/curl" -sS "http://127.0.0.1:$denied_port/"
show "$work/python3" -c "import socket; socket.create_connection(('127.0.0.1', $denied_port))"
show "$work/python3" -c "import socket; socket.getaddrinfo('example.com', 80)"
show "$work/python3" -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', 53))"

step "Children: the unpatched curl that the patched python3 starts is on the app's leash"
show "$work/python3" -c "import subprocess; [subprocess.run(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}\\n', 'http://127.0.0.1:%d/' % p]) for p in ($by_addr_port, $denied_port)]"

step "The same curl unpatched, started outside the leash, still reaches :$denied_port (the leash is per program tree)"
show curl -sS "http://127.0.0.1:$denied_port/"

step "Inbound: a patched python3 http.server believes it listens on :$virtual_port"
mkdir -p "$work/inbound" && echo "hello from the patched server" > "$work/inbound/index.html"
"$work/python3" -m http.server $virtual_port --bind 127.0.0.1 --directory "$work/inbound" >/dev/null 2>&1 &
pids+=($!)
wait_for port_open $exposed_port
show curl -sS "http://127.0.0.1:$exposed_port/"
show curl -sS "http://127.0.0.1:$virtual_port/"
show curl -sS --interface 127.0.0.2 "http://127.0.0.1:$exposed_port/"

step "Live status: connections, bytes and decisions per app, and the listener (netleashctl)"
show "$bin/src/ctl/netleashctl" --socket "$work/netleashd.sock" status

step "Audit log (one JSON line per decision)"
sed 's/^/  /' "$work/audit.log"

step "No daemon, no network: the shim fails closed"
kill -TERM $daemon_pid && wait $daemon_pid || true
show "$work/curl" -sS "http://127.0.0.1:$by_addr_port/"
show "$work/python3" -c "import socket; socket.create_connection(('127.0.0.1', $by_addr_port))"
echo
echo "demo: done"
