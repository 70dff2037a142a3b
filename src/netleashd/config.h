// The daemon configuration (--config FILE, JSON). Every key is optional; the
// defaults are what an unconfigured daemon runs with.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "netleashd/tunnel/tunnel_config.h"

namespace netleash::netleashd {

struct ResolverConfig {
  std::vector<std::string> servers;  // "ip:port"; empty: /etc/resolv.conf
  std::string hosts_file;            // empty: /etc/hosts
  uint32_t timeout_ms = 2000;        // per try
  uint32_t tries = 2;
  size_t max_in_flight = 64;         // concurrent lookups
  size_t max_queued = 1024;          // waiting beyond that; more get kAgain
  uint32_t min_ttl_s = 5;            // floor for policy purposes
  uint32_t max_ttl_s = 3600;         // ceiling, so a hostile server cannot pin forever
  uint32_t hosts_ttl_s = 60;         // hosts-file answers carry no TTL
  // Destination ports whose queries the daemon answers itself (dns/answer.h);
  // another one for a local resolver on an odd port, or for tests.
  std::vector<uint16_t> dns_ports = {53};
};

struct Config {
  size_t max_connections = 16384;         // relayed TCP connections + UDP associations
  size_t max_connections_per_app = 4096;
  size_t max_pending = 1024;              // accepted, request not yet read
  size_t max_trees_per_user = 1024;       // process trees rooted by one uid (process_trees.h)
  uint32_t request_timeout_ms = 5000;     // for the client to send its Request
  uint32_t connect_timeout_ms = 30000;    // upstream TCP connect
  size_t high_water = 256 * 1024;         // stop reading a side above this many queued bytes
  size_t low_water = 64 * 1024;           // resume below this
  bool splice = true;                     // bulk TCP relayed by splice(2) (relay_splice.h)
  size_t udp_max_peers = 256;             // remembered destinations per association
  uint32_t udp_idle_timeout_ms = 300000;  // association closed after this long without traffic
  // Owners whose executables' identity records are honoured, besides root
  // ("trusted_owners": uids or user names, resolved when the config is read).
  std::vector<uid_t> trusted_owners;
  ResolverConfig resolver;
  TunnelConfig tunnel;  // encrypted links: tunnel_config.h
};

// Parses `text` (the contents of `path`). On error returns false and sets
// *error to "PATH:LINE:COL: message" (or "PATH: message" without a position).
bool parse_config(const std::string& path, const std::string& text, Config* config,
                  std::string* error);

bool load_config(const std::string& path, Config* config, std::string* error);

}  // namespace netleash::netleashd
