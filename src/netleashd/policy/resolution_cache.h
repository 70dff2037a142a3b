// Which names the daemon resolved, for which app, to which address.
//
// Host rules allow an address only because the daemon itself resolved a
// matching name to it for the same app. The daemon records every answer it
// hands to an app here, and on connect/sendto passes names(app, address) to
// match_outbound. Entries expire (DNS TTL, or a fixed lifetime the daemon
// chooses: getaddrinfo reports no TTL) and are bounded per app, so a hostile
// app resolving endlessly costs a fixed amount of memory.
//
// Time is passed in as monotonic seconds (e.g. uv_now() / 1000) so tests can
// drive the clock. Not thread-safe: it belongs to the event loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "netleashd/policy/address.h"

namespace netleash::policy {

class ResolutionCache {
 public:
  struct Limits {
    // Addresses remembered per app; beyond this the least recently used goes.
    std::size_t max_addresses_per_app = 4096;
    // Names remembered per address (CDNs put many names on one address);
    // beyond this the one expiring soonest goes.
    std::size_t max_names_per_address = 16;
  };

  ResolutionCache() = default;
  explicit ResolutionCache(Limits limits) : limits_(limits) {}

  // `name` resolved to `address` for `app`; valid while now < now + ttl.
  // The name is stored normalized (lower case, no trailing dot). Recording a
  // known name again extends its lifetime, never shortens it.
  void record(std::string_view app, const IpAddress& address, std::string_view name,
              std::uint64_t ttl_seconds, std::uint64_t now);

  // The unexpired names for (app, address), most recently recorded first.
  // Counts as a use for the LRU order. Drops what it finds expired.
  std::vector<std::string> names(std::string_view app, const IpAddress& address, std::uint64_t now);

  // The unexpired addresses `name` resolved to for `app` (netleashctl
  // explain). Not a use: the LRU order stays.
  std::vector<IpAddress> addresses(std::string_view app, std::string_view name, std::uint64_t now) const;

  // Drops every expired entry; call from a timer so idle apps release memory.
  void expire(std::uint64_t now);
  // Forgets an app entirely (e.g. its policy disappeared on reload).
  void forget(std::string_view app);

  std::size_t address_count(std::string_view app) const;
  std::size_t address_count() const;

 private:
  struct Name {
    std::string name;
    std::uint64_t expires;
  };
  struct Entry {
    IpAddress address;
    std::vector<Name> names;  // most recently recorded first
  };
  struct AppEntries {
    std::list<Entry> recency;  // most recently used first
    std::map<IpAddress, std::list<Entry>::iterator> by_address;
  };

  static void drop_expired(Entry& entry, std::uint64_t now);
  void erase(AppEntries& app, std::list<Entry>::iterator entry);

  Limits limits_;
  std::map<std::string, AppEntries, std::less<>> apps_;
};

}  // namespace netleash::policy
