#include "netleashd/policy/resolution_cache.h"

#include <algorithm>
#include <limits>

#include "netleashd/policy/policy_host.h"

namespace netleash::policy {

void ResolutionCache::record(std::string_view app, const IpAddress& address, std::string_view name,
                             std::uint64_t ttl_seconds, std::uint64_t now) {
  if (limits_.max_addresses_per_app == 0 || limits_.max_names_per_address == 0) return;
  const std::uint64_t expires = ttl_seconds > std::numeric_limits<std::uint64_t>::max() - now
                                    ? std::numeric_limits<std::uint64_t>::max()
                                    : now + ttl_seconds;
  auto app_it = apps_.find(app);
  if (app_it == apps_.end()) app_it = apps_.emplace(std::string(app), AppEntries{}).first;
  AppEntries& entries = app_it->second;

  auto found = entries.by_address.find(address);
  if (found == entries.by_address.end()) {
    if (entries.recency.size() >= limits_.max_addresses_per_app) {
      erase(entries, std::prev(entries.recency.end()));
    }
    entries.recency.push_front(Entry{address, {}});
    found = entries.by_address.emplace(address, entries.recency.begin()).first;
  } else {
    entries.recency.splice(entries.recency.begin(), entries.recency, found->second);
  }
  Entry& entry = *found->second;

  std::string normalized = normalize_host_name(name);
  std::uint64_t keep_until = expires;
  const auto same = std::find_if(entry.names.begin(), entry.names.end(),
                                 [&](const Name& n) { return n.name == normalized; });
  if (same != entry.names.end()) {
    keep_until = std::max(keep_until, same->expires);
    entry.names.erase(same);
  } else if (entry.names.size() >= limits_.max_names_per_address) {
    entry.names.erase(std::min_element(entry.names.begin(), entry.names.end(),
                                       [](const Name& a, const Name& b) { return a.expires < b.expires; }));
  }
  entry.names.insert(entry.names.begin(), Name{std::move(normalized), keep_until});
}

std::vector<std::string> ResolutionCache::names(std::string_view app, const IpAddress& address,
                                                std::uint64_t now) {
  std::vector<std::string> result;
  const auto app_it = apps_.find(app);
  if (app_it == apps_.end()) return result;
  AppEntries& entries = app_it->second;
  const auto found = entries.by_address.find(address);
  if (found == entries.by_address.end()) return result;
  const auto entry = found->second;
  drop_expired(*entry, now);
  if (entry->names.empty()) {
    erase(entries, entry);
    return result;
  }
  entries.recency.splice(entries.recency.begin(), entries.recency, entry);
  for (const Name& name : entry->names) result.push_back(name.name);
  return result;
}

void ResolutionCache::expire(std::uint64_t now) {
  for (auto app_it = apps_.begin(); app_it != apps_.end();) {
    AppEntries& entries = app_it->second;
    for (auto entry = entries.recency.begin(); entry != entries.recency.end();) {
      drop_expired(*entry, now);
      const auto next = std::next(entry);
      if (entry->names.empty()) erase(entries, entry);
      entry = next;
    }
    app_it = entries.recency.empty() ? apps_.erase(app_it) : std::next(app_it);
  }
}

void ResolutionCache::forget(std::string_view app) {
  const auto app_it = apps_.find(app);
  if (app_it != apps_.end()) apps_.erase(app_it);
}

std::size_t ResolutionCache::address_count(std::string_view app) const {
  const auto app_it = apps_.find(app);
  return app_it == apps_.end() ? 0 : app_it->second.recency.size();
}

std::size_t ResolutionCache::address_count() const {
  std::size_t total = 0;
  for (const auto& [app, entries] : apps_) total += entries.recency.size();
  return total;
}

void ResolutionCache::drop_expired(Entry& entry, std::uint64_t now) {
  std::erase_if(entry.names, [&](const Name& name) { return name.expires <= now; });
}

void ResolutionCache::erase(AppEntries& app, std::list<Entry>::iterator entry) {
  app.by_address.erase(entry->address);
  app.recency.erase(entry);
}

std::vector<IpAddress> ResolutionCache::addresses(std::string_view app, std::string_view name,
                                                  std::uint64_t now) const {
  std::vector<IpAddress> found;
  const auto entries = apps_.find(app);
  if (entries == apps_.end()) return found;
  const std::string normalized = normalize_host_name(name);
  for (const Entry& entry : entries->second.recency) {
    const bool live = std::any_of(entry.names.begin(), entry.names.end(), [&](const Name& n) {
      return n.name == normalized && n.expires > now;
    });
    if (live) found.push_back(entry.address);
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace netleash::policy
