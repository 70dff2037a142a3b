#include "netleashd/noise/noise_dh.h"

#include <stdexcept>

namespace netleash::tunnel {

KeyPair generate_keypair() {
  require_sodium();
  PrivateKey private_key;
  randombytes_buf(private_key.data(), private_key.size());
  // Clamp as X25519 itself does (RFC 7748 §5), so the stored key is the
  // canonical scalar, as `wg genkey` writes it.
  private_key.data()[0] &= 248;
  private_key.data()[31] &= 127;
  private_key.data()[31] |= 64;
  auto pair = keypair_from_private(private_key.view());
  if (!pair) throw std::runtime_error("X25519 key generation failed");
  return std::move(*pair);
}

std::optional<KeyPair> keypair_from_private(ByteView private_key) {
  require_sodium();
  if (private_key.size() != kDhLen) return std::nullopt;
  KeyPair pair{PrivateKey(private_key), {}};
  if (crypto_scalarmult_base(pair.public_key.data(), pair.private_key.data()) != 0) {
    return std::nullopt;
  }
  return pair;
}

bool dh(const KeyPair& local, const PublicKey& remote, DhOutput& out) {
  // crypto_scalarmult returns -1 when the shared secret is all zero.
  return crypto_scalarmult(out.data(), local.private_key.data(), remote.data()) == 0;
}

}  // namespace netleash::tunnel
