#include "replay_guard.h"

namespace netleash::tunnel {

void ReplayGuard::add_peer(const PublicKey& peer) { last_seen_.try_emplace(peer); }

ReplayGuard::Verdict ReplayGuard::check_and_record(const PublicKey& peer, const Tai64n& timestamp) {
  const auto it = last_seen_.find(peer);
  if (it == last_seen_.end()) return Verdict::unknown_peer;
  if (it->second && timestamp <= *it->second) return Verdict::replayed;
  it->second = timestamp;
  return Verdict::accept;
}

}  // namespace netleash::tunnel
