// Handshake patterns (Noise spec rev 34 §7) and the pskN modifiers (§9.4).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netleash::tunnel {

enum class Token { e, s, ee, es, se, ss, psk };

using MessagePattern = std::vector<Token>;

struct HandshakePattern {
  std::string name;                      // name section, modifiers included ("XXpsk3")
  MessagePattern initiator_premessage;   // "-> ..." before the "..." line
  MessagePattern responder_premessage;   // "<- ..." before the "..." line
  std::vector<MessagePattern> messages;  // alternate, initiator first
  bool one_way = false;                  // N, K, X: only the initiator sends transport (§7.4)
  bool psk_mode = false;                 // any psk modifier: "e" also calls MixKey (§9.2)
  std::size_t psk_count = 0;
};

// Parses a handshake pattern name section such as "IK", "X1K1" or
// "XXpsk0+psk3": the 38 one-way, fundamental and deferred patterns of §7.4,
// §7.5 and §18.1, with any number of psk modifiers. Returns nullopt for an
// unknown base pattern, an unknown or duplicated modifier, or a psk position
// past the last message. Every result satisfies the psk validity rule (§9.3):
// in each of these patterns both parties send "e" first in their first
// message, before anything is encrypted, wherever a "psk" token goes.
[[nodiscard]] std::optional<HandshakePattern> parse_handshake_pattern(std::string_view section);

}  // namespace netleash::tunnel
