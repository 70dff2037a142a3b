// The daemon's encrypted links at run time: the host key, the replay guard
// shared by every accepted tunnel, the timestamp source of dialled ones, and
// the tunnel listener. Lives as Daemon::tunnel from start to stop; absent
// (nullptr) when the configuration has no "key".
#pragma once

#include <uv.h>

#include <string>

#include "netleashd/policy/policy.h"
#include "netleashd/tunnel/replay_guard.h"
#include "netleashd/tunnel/tunnel_config.h"

namespace netleash::netleashd {

struct Daemon;

struct TunnelLinks {
  const TunnelConfig* config = nullptr;
  tunnel::KeyPair key;
  tunnel::ReplayGuard guard;
  tunnel::TimestampSource clock;
  uv_tcp_t listener{};
  bool listening = false;
  // Accepted tunnels still in their handshake, bounded by max_pending like
  // the Unix socket's pending connections: unauthenticated peers cost little.
  size_t handshaking = 0;

  explicit TunnelLinks(tunnel::ReorderWindow window) : guard(window) {}
};

// Loads the key (refusing a file others can read), registers the peers with
// the replay guard and opens `tunnel_listen`. Nothing to do without a "key".
bool tunnel_links_start(Daemon& d, std::string* error);
// Closes the listener; the object frees itself once the handle is closed.
void tunnel_links_stop(Daemon& d);

// `netleashd --genkey FILE`: writes a new private key (0600) and prints the
// public key. Returns the exit status.
int tunnel_genkey(const std::string& path);

// May `peer` have this daemon connect to `destination`? From tunnel_ingress.
policy::Decision decide_tunnel_ingress(const TunnelConfig& config, const std::string& peer,
                                       const policy::Endpoint& destination);

}  // namespace netleash::netleashd
