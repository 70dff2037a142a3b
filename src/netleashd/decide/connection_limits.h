// Connection accounting: how many relayed connections (TCP relays and UDP
// associations) each app and the whole daemon hold, against the configured
// limits, and the watermarks that turn a slow reader into backpressure.
#pragma once

#include <cstddef>
#include <map>
#include <string>

namespace netleash::netleashd {

class ConnectionLimits {
 public:
  ConnectionLimits(size_t total, size_t per_app) : max_total_(total), max_per_app_(per_app) {}

  // Takes a slot for `app`; false (with *reason) when a limit is reached.
  bool acquire(const std::string& app, std::string* reason);
  void release(const std::string& app);

  size_t total() const { return total_; }
  size_t of(const std::string& app) const;
  void set_limits(size_t total, size_t per_app) {
    max_total_ = total;
    max_per_app_ = per_app;
  }

 private:
  size_t max_total_;
  size_t max_per_app_;
  size_t total_ = 0;
  std::map<std::string, size_t> per_app_;
};

// Reading one side stops while the other side has more than `high` bytes
// queued for writing and resumes once that falls to `low` or below; the gap
// keeps a connection near the mark from toggling on every write.
struct Watermarks {
  size_t high;
  size_t low;
  bool should_pause(size_t queued) const { return queued > high; }
  bool should_resume(size_t queued) const { return queued <= low; }
};

}  // namespace netleash::netleashd
