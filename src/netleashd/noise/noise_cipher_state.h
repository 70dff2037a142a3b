// CipherState (Noise spec rev 34 §5.1): a cipher key k (possibly empty) and a
// 64-bit nonce n. The nonce 2^64-1 is reserved (for REKEY), so once n reaches
// it every EncryptWithAd/DecryptWithAd fails with nonce_exhausted and the
// session has to end (§5, §14 "Incrementing nonces").
#pragma once

#include "netleashd/noise/noise_cipher.h"
#include "netleashd/noise/noise_error.h"

namespace netleash::tunnel {

class CipherState {
 public:
  explicit CipherState(CipherAlgorithm algo = CipherAlgorithm::chachapoly) : algo_(algo) {}

  void initialize_key(const CipherKey& key);  // InitializeKey(key): sets k, n = 0
  [[nodiscard]] bool has_key() const { return has_key_; }
  void set_nonce(uint64_t n) { n_ = n; }
  [[nodiscard]] uint64_t nonce() const { return n_; }
  [[nodiscard]] CipherAlgorithm algorithm() const { return algo_; }

  // EncryptWithAd: appends ENCRYPT(k, n++, ad, plaintext) to out, or the
  // plaintext itself while k is empty.
  [[nodiscard]] NoiseError encrypt_with_ad(ByteView ad, ByteView plaintext, Bytes& out);

  // DecryptWithAd: appends the plaintext to out. On failure n is unchanged
  // and out keeps its previous size.
  [[nodiscard]] NoiseError decrypt_with_ad(ByteView ad, ByteView ciphertext, Bytes& out);

  // Rekey(): k = REKEY(k). n is deliberately not reset (§11.3).
  [[nodiscard]] NoiseError rekey();

 private:
  CipherAlgorithm algo_;
  CipherKey k_;
  bool has_key_ = false;
  uint64_t n_ = 0;
};

}  // namespace netleash::tunnel
