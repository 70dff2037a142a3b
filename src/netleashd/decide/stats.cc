#include "netleashd/decide/stats.h"

#include <algorithm>
#include <cstring>

namespace netleash::netleashd {
namespace {

// Saturating: a close whose open was counted before a restart of the counters
// must not wrap around.
void decrement(uint64_t& counter) {
  if (counter > 0) --counter;
}

}  // namespace

void Stats::opened(const std::string& app, Kind kind) {
  AppCounters& c = apps_[app];
  switch (kind) {
    case Kind::kOutboundTcp: ++c.open_outbound_tcp; break;
    case Kind::kInboundTcp: ++c.open_inbound_tcp; break;
    case Kind::kUdp: ++c.open_udp; break;
  }
}

void Stats::record(const AuditEvent& event) {
  AppCounters& c = apps_[event.app];
  ++(event.allow ? c.allows : c.denies);
  // An allowed listen is the listener's start; its close record ends it.
  if (event.allow && std::strcmp(event.op, "listen") == 0)
    c.listeners.push_back({event.listen, event.dst});
}

void Stats::record(const CloseEvent& event) {
  AppCounters& c = apps_[event.app];
  c.bytes_sent += event.bytes_sent;
  c.bytes_received += event.bytes_received;
  // The accepting end of a tunnel serves another host's app: its bytes
  // count, but it was never opened here.
  if (!event.peer.empty()) return;
  if (std::strcmp(event.protocol, "udp") == 0) {
    decrement(c.open_udp);
  } else if (event.listen.empty()) {
    decrement(c.open_outbound_tcp);
  } else if (!event.src.empty()) {
    decrement(c.open_inbound_tcp);
  } else {  // a listener: no peer
    auto it = std::find_if(c.listeners.begin(), c.listeners.end(), [&](const ListenerEntry& l) {
      return l.listen == event.listen && l.exposed == event.dst;
    });
    if (it != c.listeners.end()) c.listeners.erase(it);
  }
}

void Stats::reloaded(bool ok, uint64_t unix_ms) {
  last_reload_ok_ = ok;
  last_reload_ms_ = unix_ms;
}

nlohmann::json Stats::apps_json(const LiveBytes& live) const {
  auto out = nlohmann::json::object();
  for (const auto& [app, c] : apps_) {
    const auto open = live.find(app);
    const uint64_t live_sent = open == live.end() ? 0 : open->second.first;
    const uint64_t live_received = open == live.end() ? 0 : open->second.second;
    auto listeners = nlohmann::json::array();
    for (const auto& l : c.listeners) listeners.push_back({{"listen", l.listen}, {"exposed", l.exposed}});
    out[app.empty() ? "(unidentified)" : app] = {
        {"open", {{"outbound_tcp", c.open_outbound_tcp},
                  {"inbound_tcp", c.open_inbound_tcp},
                  {"udp", c.open_udp}}},
        {"bytes_sent", c.bytes_sent + live_sent},
        {"bytes_received", c.bytes_received + live_received},
        {"allows", c.allows},
        {"denies", c.denies},
        {"listeners", listeners}};
  }
  return out;
}

nlohmann::json Stats::last_reload_json() const {
  if (last_reload_ms_ == 0) return {{"time", nullptr}, {"ok", nullptr}};
  return {{"time", format_timestamp(last_reload_ms_)}, {"ok", last_reload_ok_}};
}

}  // namespace netleash::netleashd
