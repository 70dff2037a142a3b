#include "netleashd/noise/noise_cipher.h"

#include <array>
#include <cassert>

namespace netleash::tunnel {
namespace {

using Nonce = std::array<uint8_t, 12>;

// §12.3: 32 bits of zeros, then n little-endian.
Nonce chachapoly_nonce(uint64_t n) {
  Nonce nonce{};
  for (std::size_t i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(n >> (8 * i));
  return nonce;
}

// §12.4: 32 bits of zeros, then n big-endian.
Nonce aesgcm_nonce(uint64_t n) {
  Nonce nonce{};
  for (std::size_t i = 0; i < 8; ++i) nonce[11 - i] = static_cast<uint8_t>(n >> (8 * i));
  return nonce;
}

}  // namespace

bool cipher_available(CipherAlgorithm algo) {
  switch (algo) {
    case CipherAlgorithm::chachapoly: return true;
    case CipherAlgorithm::aesgcm: return crypto_aead_aes256gcm_is_available() == 1;
  }
  return false;
}

void cipher_encrypt(CipherAlgorithm algo, const CipherKey& k, uint64_t n, ByteView ad,
                    ByteView plaintext, uint8_t* out) {
  unsigned long long written = 0;
  switch (algo) {
    case CipherAlgorithm::chachapoly: {
      const Nonce nonce = chachapoly_nonce(n);
      crypto_aead_chacha20poly1305_ietf_encrypt(out, &written, plaintext.data(), plaintext.size(),
                                                ad.data(), ad.size(), nullptr, nonce.data(),
                                                k.data());
      break;
    }
    case CipherAlgorithm::aesgcm: {
      const Nonce nonce = aesgcm_nonce(n);
      crypto_aead_aes256gcm_encrypt(out, &written, plaintext.data(), plaintext.size(), ad.data(),
                                    ad.size(), nullptr, nonce.data(), k.data());
      break;
    }
  }
  assert(written == plaintext.size() + kTagLen);
}

bool cipher_decrypt(CipherAlgorithm algo, const CipherKey& k, uint64_t n, ByteView ad,
                    ByteView ciphertext, uint8_t* out) {
  if (ciphertext.size() < kTagLen) return false;
  unsigned long long written = 0;
  int rc = -1;
  switch (algo) {
    case CipherAlgorithm::chachapoly: {
      const Nonce nonce = chachapoly_nonce(n);
      rc = crypto_aead_chacha20poly1305_ietf_decrypt(out, &written, nullptr, ciphertext.data(),
                                                     ciphertext.size(), ad.data(), ad.size(),
                                                     nonce.data(), k.data());
      break;
    }
    case CipherAlgorithm::aesgcm: {
      const Nonce nonce = aesgcm_nonce(n);
      rc = crypto_aead_aes256gcm_decrypt(out, &written, nullptr, ciphertext.data(),
                                         ciphertext.size(), ad.data(), ad.size(), nonce.data(),
                                         k.data());
      break;
    }
  }
  return rc == 0;
}

CipherKey cipher_rekey(CipherAlgorithm algo, const CipherKey& k) {
  static constexpr std::array<uint8_t, 32> kZeros{};
  Secret<kCipherKeyLen + kTagLen> encrypted;
  cipher_encrypt(algo, k, UINT64_MAX, {}, kZeros, encrypted.data());
  return CipherKey(encrypted.view().first(kCipherKeyLen));
}

}  // namespace netleash::tunnel
