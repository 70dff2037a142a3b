#include "netleashd/dns/resolver_cache.h"

#include <algorithm>
#include <cctype>

namespace netleash::netleashd {

std::string ResolverCache::key_name(const std::string& name) {
  std::string key = name;
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // "example.com." and "example.com" are the same name.
  if (key.size() > 1 && key.back() == '.') key.pop_back();
  return key;
}

const ResolveResult* ResolverCache::find(const std::string& name, int family, uint64_t now_ms) {
  const auto it = entries_.find({key_name(name), family});
  if (it == entries_.end()) return nullptr;
  if (it->second.expires_ms <= now_ms) {
    entries_.erase(it);
    return nullptr;
  }
  scratch_ = it->second.result;
  scratch_.ttl_s = static_cast<uint32_t>((it->second.expires_ms - now_ms + 999) / 1000);
  return &scratch_;
}

void ResolverCache::store(const std::string& name, int family, const ResolveResult& result,
                          uint64_t now_ms) {
  const bool definitive = result.status == wire::ResolveStatus::kOk ||
                          result.status == wire::ResolveStatus::kNoName ||
                          result.status == wire::ResolveStatus::kNoData;
  if (!definitive || result.ttl_s == 0) return;
  if (entries_.size() >= kMaxEntries) evict(now_ms);
  entries_[{key_name(name), family}] = Entry{result, now_ms + uint64_t{result.ttl_s} * 1000};
}

void ResolverCache::evict(uint64_t now_ms) {
  std::erase_if(entries_, [now_ms](const auto& item) { return item.second.expires_ms <= now_ms; });
  // Still full of live answers: start over rather than grow without bound.
  if (entries_.size() >= kMaxEntries) entries_.clear();
}

uint32_t clamp_ttl(uint32_t ttl_s, uint32_t floor_s, uint32_t ceiling_s, uint32_t unknown_s) {
  if (ttl_s == 0) ttl_s = unknown_s;
  return std::clamp(ttl_s, floor_s, std::max(floor_s, ceiling_s));
}

}  // namespace netleash::netleashd
