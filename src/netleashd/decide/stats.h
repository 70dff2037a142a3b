// Live counters for the control socket's "status": per application, the open
// connections, bytes each way and decisions; plus the daemon's reload history.
//
// Decisions and closed connections are counted from the audit records (the
// Audit forwards every record here), so the counts always agree with the
// audit log. Opening a connection is the only thing counted at its site; the
// bytes of connections still open are added when the status is asked for.
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "netleashd/decide/audit.h"

namespace netleash::netleashd {

class Stats {
 public:
  enum class Kind { kOutboundTcp, kInboundTcp, kUdp };

  struct ListenerEntry {
    std::string listen;   // the virtual address the app listens on
    std::string exposed;  // the real address it is reachable at
  };

  struct AppCounters {
    uint64_t open_outbound_tcp = 0;
    uint64_t open_inbound_tcp = 0;
    uint64_t open_udp = 0;
    uint64_t bytes_sent = 0;      // app -> peer, closed connections included
    uint64_t bytes_received = 0;  // peer -> app
    uint64_t allows = 0;
    uint64_t denies = 0;
    std::vector<ListenerEntry> listeners;
  };

  // A connection of the app started (one whose end always writes a close
  // record, which ends it here).
  void opened(const std::string& app, Kind kind);
  void record(const AuditEvent& event);
  void record(const CloseEvent& event);
  void reloaded(bool ok, uint64_t unix_ms);

  const std::map<std::string, AppCounters>& apps() const { return apps_; }
  // Bytes each way of the connections still open, per app (Tracked::live_bytes).
  using LiveBytes = std::map<std::string, std::pair<uint64_t, uint64_t>>;

  // The per-app part of the status response: bytes are those of the closed
  // connections plus `live`.
  nlohmann::json apps_json(const LiveBytes& live = {}) const;
  // {"time": RFC 3339 or null, "ok": bool or null}
  nlohmann::json last_reload_json() const;

 private:
  std::map<std::string, AppCounters> apps_;
  uint64_t last_reload_ms_ = 0;  // 0: never reloaded since start
  bool last_reload_ok_ = false;
};

}  // namespace netleash::netleashd
