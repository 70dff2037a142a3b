// Noise protocol names (spec rev 34 §8): "Noise_" + pattern + "_" + DH + "_"
// + cipher + "_" + hash, e.g. "Noise_IK_25519_ChaChaPoly_BLAKE2b".
#pragma once

#include "netleashd/noise/noise_cipher.h"
#include "netleashd/noise/noise_hash.h"
#include "netleashd/noise/noise_pattern.h"

#include <stdexcept>
#include <string>
#include <string_view>

namespace netleash::tunnel {

struct Protocol {
  std::string name;
  HandshakePattern pattern;
  CipherAlgorithm cipher = CipherAlgorithm::chachapoly;
  HashAlgorithm hash = HashAlgorithm::blake2b;
};

// Why a protocol name cannot be used; the test-vector runner counts skips by it.
enum class UnsupportedReason { malformed, pattern, dh, cipher, hash };

class UnsupportedProtocol : public std::invalid_argument {
 public:
  UnsupportedProtocol(UnsupportedReason reason, const std::string& message)
      : std::invalid_argument(message), reason_(reason) {}
  [[nodiscard]] UnsupportedReason reason() const { return reason_; }

 private:
  UnsupportedReason reason_;
};

// Throws UnsupportedProtocol for names outside what this build can run: DH
// other than 25519 (448 is not in libsodium), hashes other than BLAKE2b,
// SHA256 and SHA512 (BLAKE2s is not in libsodium), AESGCM without hardware
// support, or a pattern parse_handshake_pattern() rejects.
[[nodiscard]] Protocol parse_protocol_name(std::string_view name);

}  // namespace netleash::tunnel
