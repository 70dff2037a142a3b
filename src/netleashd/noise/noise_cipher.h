// Noise cipher functions (spec rev 34 §4.2, §12.3, §12.4) on libsodium's
// IETF AEADs. ChaChaPoly is always available; AESGCM only where libsodium
// has a hardware implementation (crypto_aead_aes256gcm_is_available()).
#pragma once

#include "netleashd/noise/secure_bytes.h"

#include <cstdint>

namespace netleash::tunnel {

enum class CipherAlgorithm { chachapoly, aesgcm };

inline constexpr std::size_t kCipherKeyLen = 32;
inline constexpr std::size_t kTagLen = 16;
using CipherKey = Secret<kCipherKeyLen>;

[[nodiscard]] bool cipher_available(CipherAlgorithm algo);

// ENCRYPT(k, n, ad, plaintext): writes plaintext.size() + 16 bytes to out.
void cipher_encrypt(CipherAlgorithm algo, const CipherKey& k, uint64_t n, ByteView ad,
                    ByteView plaintext, uint8_t* out);

// DECRYPT(k, n, ad, ciphertext): writes ciphertext.size() - 16 bytes to out.
// Returns false (and leaves nothing meaningful in out) if authentication fails.
[[nodiscard]] bool cipher_decrypt(CipherAlgorithm algo, const CipherKey& k, uint64_t n,
                                  ByteView ad, ByteView ciphertext, uint8_t* out);

// REKEY(k): the first 32 bytes of ENCRYPT(k, 2^64-1, zerolen, 32 zero bytes),
// the default of §4.2. The nonce goes through the normal per-cipher encoding.
[[nodiscard]] CipherKey cipher_rekey(CipherAlgorithm algo, const CipherKey& k);

}  // namespace netleash::tunnel
