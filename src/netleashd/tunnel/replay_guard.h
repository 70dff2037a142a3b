// The responder's check of first handshake messages: the initiator must be a
// configured peer, and its TAI64N timestamp must not have been accepted before
// from that peer, so a recorded first message cannot be replayed (as WireGuard
// does; IK's first payload is otherwise replayable, Noise spec rev 34 §7.7).
//
// By default timestamps must be strictly increasing per peer. A ReorderWindow
// lets first messages of concurrent handshakes arrive out of order (one TCP
// connection each): a timestamp up to `nanoseconds` older than the newest
// accepted one is still accepted if it is not among the ones remembered.
// Replays stay refused exactly: every timestamp not remembered is at or below
// a floor that only rises. Memory is bounded by peers x `remembered`.
#pragma once

#include "netleashd/noise/noise_dh.h"
#include "netleashd/tunnel/tai64n.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>

namespace netleash::tunnel {

struct ReorderWindow {
  uint64_t nanoseconds = 0;  // how much older than the newest accepted timestamp
  std::size_t remembered = 1;  // accepted timestamps kept per peer (at least 1)
};

class ReplayGuard {
 public:
  explicit ReplayGuard(ReorderWindow window = {}) : window_(window) {}

  void add_peer(const PublicKey& peer);
  [[nodiscard]] bool knows(const PublicKey& peer) const { return peers_.contains(peer); }

  enum class Verdict { accept, unknown_peer, replayed };
  // Accepts and remembers the timestamp, or rejects it and remembers nothing.
  [[nodiscard]] Verdict check_and_record(const PublicKey& peer, const Tai64n& timestamp);

 private:
  struct History {
    std::optional<Tai64n> floor;  // this and everything older is refused
    std::set<Tai64n> accepted;    // accepted timestamps above the floor
  };

  ReorderWindow window_;
  std::map<PublicKey, History> peers_;
};

}  // namespace netleash::tunnel
