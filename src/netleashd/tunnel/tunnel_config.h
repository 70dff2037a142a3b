// The encrypted-links part of the daemon configuration (--config FILE, BRIEF
// section 4): the host key, the tunnel listener, the peers pinned by public
// key, and which peers may reach which destinations through this host.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "netleashd/noise/noise_dh.h"
#include "netleashd/policy/address.h"

namespace netleash::netleashd {

struct TunnelPeer {
  std::string name;              // what policy rules name in "via"
  policy::Endpoint address;      // where its tunnel listener is
  tunnel::PublicKey public_key{};
};

// One "tunnel_ingress" entry: `peer` may have this daemon connect to `cidr`
// on `ports` (empty: every port). TCP only in this version.
struct TunnelIngress {
  std::string peer;
  policy::Cidr cidr;
  std::vector<policy::PortRange> ports;
};

struct TunnelConfig {
  std::string key_file;                       // empty: no tunnels at all
  std::optional<policy::Endpoint> listen;     // "tunnel_listen"
  std::vector<TunnelPeer> peers;
  std::vector<TunnelIngress> ingress;
  uint32_t handshake_timeout_ms = 10000;      // dial + handshake + request

  bool enabled() const { return !key_file.empty(); }
  const TunnelPeer* find_peer(const std::string& name) const;
  const TunnelPeer* find_peer(const tunnel::PublicKey& key) const;
};

// Reads the tunnel keys ("key", "tunnel_listen", "peers", "tunnel_ingress",
// "tunnel_handshake_timeout_ms") of the configuration text. On error returns
// false with *error = "PATH:LINE:COL: message" at the offending value.
bool parse_tunnel_config(const std::string& path, const std::string& text, TunnelConfig* config,
                         std::string* error);

}  // namespace netleash::netleashd
