#include "netleashd/daemon.h"

#include <cstdarg>
#include <cstdio>

namespace netleash::netleashd {

Daemon::Daemon(uv_loop_t* l, const Config& c, AppIdReader reader)
    : loop(l),
      config(c),
      policies(std::make_shared<const policy::PolicySet>()),
      identities(reader),
      trust(c.trusted_owners),
      limits(c.max_connections, c.max_connections_per_app) {}

void Daemon::track(Tracked* t) {
  t->prev = nullptr;
  t->next = active;
  if (active != nullptr) active->prev = t;
  active = t;
  ++active_count;
}

void Daemon::untrack(Tracked* t) {
  (t->prev ? t->prev->next : active) = t->next;
  if (t->next != nullptr) t->next->prev = t->prev;
  t->prev = t->next = nullptr;
  --active_count;
}

// Diagnostics are rate limited: a flood of hostile clients must not turn
// into a flood of blocking writes to stderr.
void log_message(const char* format, ...) {
  static constexpr unsigned kPerSecond = 50;
  static time_t window = 0;
  static unsigned in_window = 0;
  static unsigned long suppressed = 0;
  const time_t now = time(nullptr);
  if (now != window) {
    if (suppressed != 0) std::fprintf(stderr, "netleashd: %lu messages suppressed\n", suppressed);
    window = now;
    in_window = 0;
    suppressed = 0;
  }
  if (++in_window > kPerSecond) {
    ++suppressed;
    return;
  }
  va_list args;
  va_start(args, format);
  std::fputs("netleashd: ", stderr);
  std::vfprintf(stderr, format, args);
  std::fputc('\n', stderr);
  va_end(args);
}

}  // namespace netleash::netleashd
