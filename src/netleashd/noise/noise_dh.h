// The Noise "25519" DH functions (spec rev 34 §4.1, §12.1): X25519 from
// libsodium. An all-zero DH output (a low-order public key) is signalled as an
// error, which §12.1 allows and libsodium does anyway; the handshake fails.
#pragma once

#include "netleashd/noise/secure_bytes.h"

#include <array>
#include <optional>

namespace netleash::tunnel {

inline constexpr std::size_t kDhLen = 32;
using PublicKey = std::array<uint8_t, kDhLen>;
using PrivateKey = Secret<kDhLen>;
using DhOutput = Secret<kDhLen>;

struct KeyPair {
  PrivateKey private_key;
  PublicKey public_key{};
};

// GENERATE_KEYPAIR(): a fresh random key pair (private key clamped as in RFC 7748).
[[nodiscard]] KeyPair generate_keypair();

// The key pair for a given 32-byte private key; nullopt if the size is wrong.
[[nodiscard]] std::optional<KeyPair> keypair_from_private(ByteView private_key);

// DH(key_pair, public_key). Returns false for an all-zero result.
[[nodiscard]] bool dh(const KeyPair& local, const PublicKey& remote, DhOutput& out);

}  // namespace netleash::tunnel
