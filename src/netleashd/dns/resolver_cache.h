// The resolver's answer cache: (name, family) -> addresses until the answer's
// TTL runs out. Pure bookkeeping (time is passed in) so it can be unit tested.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/wire.h"

namespace netleash::netleashd {

struct ResolveResult {
  wire::ResolveStatus status = wire::ResolveStatus::kFail;
  uint32_t ttl_s = 0;  // already clamped to the configured floor and ceiling
  std::string canonical_name;
  std::vector<wire::Address> addresses;  // port 0, at most kMaxResolveAddresses
};

class ResolverCache {
 public:
  static constexpr size_t kMaxEntries = 10000;

  // Names are case-insensitive; the key is the lower-cased name.
  static std::string key_name(const std::string& name);

  // The cached answer, with its TTL reduced to what is left, or nullptr.
  const ResolveResult* find(const std::string& name, int family, uint64_t now_ms);

  // Caches `result` until now + its TTL. Transient failures are not cached.
  void store(const std::string& name, int family, const ResolveResult& result, uint64_t now_ms);

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    ResolveResult result;
    uint64_t expires_ms;
  };
  void evict(uint64_t now_ms);
  std::map<std::pair<std::string, int>, Entry> entries_;
  ResolveResult scratch_;  // what find() returns, with the remaining TTL
};

// Clamps a TTL from a resolver answer (0 = none given) to [floor, ceiling].
uint32_t clamp_ttl(uint32_t ttl_s, uint32_t floor_s, uint32_t ceiling_s, uint32_t unknown_s);

}  // namespace netleash::netleashd
