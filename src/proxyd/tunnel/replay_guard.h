// The responder's check of first handshake messages: the initiator must be a
// configured peer, and its TAI64N timestamp must be strictly newer than the
// last one accepted from that peer, so a recorded first message cannot be
// replayed (as WireGuard does; IK's first payload is otherwise replayable,
// Noise spec rev 34 §7.7). Memory is bounded by the number of peers.
#pragma once

#include "noise_dh.h"
#include "tai64n.h"

#include <map>
#include <optional>

namespace netleash::tunnel {

class ReplayGuard {
 public:
  void add_peer(const PublicKey& peer);
  [[nodiscard]] bool knows(const PublicKey& peer) const { return last_seen_.contains(peer); }

  enum class Verdict { accept, unknown_peer, replayed };
  // Accepts and remembers the timestamp, or rejects it and remembers nothing.
  [[nodiscard]] Verdict check_and_record(const PublicKey& peer, const Tai64n& timestamp);

 private:
  std::map<PublicKey, std::optional<Tai64n>> last_seen_;
};

}  // namespace netleash::tunnel
