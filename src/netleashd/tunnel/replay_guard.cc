#include "netleashd/tunnel/replay_guard.h"

#include <algorithm>

namespace netleash::tunnel {
namespace {

constexpr uint64_t kNanosPerSecond = 1'000'000'000;

// `t` minus `nanoseconds`, saturating at zero.
Tai64n earlier_by(const Tai64n& t, uint64_t nanoseconds) {
  uint64_t seconds = 0;
  uint64_t nanos = 0;
  for (std::size_t i = 0; i < 8; ++i) seconds = seconds << 8 | t.bytes[i];
  for (std::size_t i = 8; i < kTai64nLen; ++i) nanos = nanos << 8 | t.bytes[i];
  const uint64_t back_seconds = nanoseconds / kNanosPerSecond;
  const uint64_t back_nanos = nanoseconds % kNanosPerSecond;
  if (nanos < back_nanos) {
    nanos += kNanosPerSecond;
    if (seconds == 0) return Tai64n{};
    --seconds;
  }
  nanos -= back_nanos;
  if (seconds < back_seconds) return Tai64n{};
  seconds -= back_seconds;
  Tai64n out;
  for (std::size_t i = 0; i < 8; ++i) out.bytes[7 - i] = static_cast<uint8_t>(seconds >> (8 * i));
  for (std::size_t i = 0; i < 4; ++i) out.bytes[11 - i] = static_cast<uint8_t>(nanos >> (8 * i));
  return out;
}

}  // namespace

void ReplayGuard::add_peer(const PublicKey& peer) { peers_.try_emplace(peer); }

ReplayGuard::Verdict ReplayGuard::check_and_record(const PublicKey& peer, const Tai64n& timestamp) {
  const auto it = peers_.find(peer);
  if (it == peers_.end()) return Verdict::unknown_peer;
  History& history = it->second;
  if (history.floor && timestamp <= *history.floor) return Verdict::replayed;
  if (history.accepted.contains(timestamp)) return Verdict::replayed;
  if (!history.accepted.empty()) {
    const Tai64n oldest_allowed = earlier_by(*history.accepted.rbegin(), window_.nanoseconds);
    if (timestamp < oldest_allowed) return Verdict::replayed;
  }
  history.accepted.insert(timestamp);
  // Forget what fell out of the window or beyond the count, raising the floor
  // past it, so that a forgotten timestamp can never be accepted again.
  const Tai64n oldest_allowed = earlier_by(*history.accepted.rbegin(), window_.nanoseconds);
  const std::size_t keep = std::max<std::size_t>(window_.remembered, 1);
  while (history.accepted.size() > keep || *history.accepted.begin() < oldest_allowed) {
    history.floor = *history.accepted.begin();
    history.accepted.erase(history.accepted.begin());
  }
  return Verdict::accept;
}

}  // namespace netleash::tunnel
