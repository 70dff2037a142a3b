#include "netleashd/decide/connection_limits.h"

namespace netleash::netleashd {

bool ConnectionLimits::acquire(const std::string& app, std::string* reason) {
  if (total_ >= max_total_) {
    *reason = "daemon connection limit reached (" + std::to_string(max_total_) + ")";
    return false;
  }
  size_t& mine = per_app_[app];
  if (mine >= max_per_app_) {
    *reason = "per-app connection limit reached (" + std::to_string(max_per_app_) + ")";
    if (mine == 0) per_app_.erase(app);
    return false;
  }
  ++mine;
  ++total_;
  return true;
}

void ConnectionLimits::release(const std::string& app) {
  const auto it = per_app_.find(app);
  if (it == per_app_.end()) return;
  --total_;
  if (--it->second == 0) per_app_.erase(it);
}

size_t ConnectionLimits::of(const std::string& app) const {
  const auto it = per_app_.find(app);
  return it == per_app_.end() ? 0 : it->second;
}

}  // namespace netleash::netleashd
