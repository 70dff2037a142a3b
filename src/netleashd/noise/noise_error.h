// Errors signalled while processing Noise messages (spec rev 34 §5: "If any
// error is signaled by the DECRYPT() or DH() functions then the handshake has
// failed"). Configuration mistakes (unknown protocol, missing keys) are not
// NoiseErrors: they throw std::invalid_argument when objects are built.
#pragma once

#include <cstddef>
#include <string_view>

namespace netleash::tunnel {

enum class NoiseError {
  ok,
  decrypt_failed,     // AEAD authentication failure (§5.1 DecryptWithAd)
  nonce_exhausted,    // n reached 2^64-1, which is reserved (§5.1)
  invalid_dh,         // X25519 output was all zero: a low-order public key (§12.1)
  message_too_short,  // fewer bytes than the pattern's tokens need
  message_too_long,   // over the 65535-byte Noise message limit (§3)
  wrong_turn,         // write when it is the peer's turn to send, or the reverse
  handshake_failed,   // an earlier error already ended this handshake
  no_key,             // Rekey() on a CipherState without a key
};

[[nodiscard]] constexpr std::string_view to_string(NoiseError e) {
  switch (e) {
    case NoiseError::ok: return "ok";
    case NoiseError::decrypt_failed: return "decryption failed (bad key, tampered or replayed message)";
    case NoiseError::nonce_exhausted: return "nonce exhausted (2^64-1 reached)";
    case NoiseError::invalid_dh: return "invalid public key (all-zero Diffie-Hellman output)";
    case NoiseError::message_too_short: return "message too short";
    case NoiseError::message_too_long: return "message longer than 65535 bytes";
    case NoiseError::wrong_turn: return "message out of turn";
    case NoiseError::handshake_failed: return "handshake already failed";
    case NoiseError::no_key: return "cipher state has no key";
  }
  return "unknown error";
}

// Largest Noise message, handshake or transport (§3).
inline constexpr std::size_t kMaxNoiseMessage = 65535;

}  // namespace netleash::tunnel
