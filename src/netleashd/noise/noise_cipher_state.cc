#include "netleashd/noise/noise_cipher_state.h"

namespace netleash::tunnel {

void CipherState::initialize_key(const CipherKey& key) {
  k_ = key;
  has_key_ = true;
  n_ = 0;
}

NoiseError CipherState::encrypt_with_ad(ByteView ad, ByteView plaintext, Bytes& out) {
  if (!has_key_) {
    out.insert(out.end(), plaintext.begin(), plaintext.end());
    return NoiseError::ok;
  }
  if (n_ == UINT64_MAX) return NoiseError::nonce_exhausted;
  const std::size_t start = out.size();
  out.resize(start + plaintext.size() + kTagLen);
  cipher_encrypt(algo_, k_, n_, ad, plaintext, out.data() + start);
  ++n_;
  return NoiseError::ok;
}

NoiseError CipherState::decrypt_with_ad(ByteView ad, ByteView ciphertext, Bytes& out) {
  if (!has_key_) {
    out.insert(out.end(), ciphertext.begin(), ciphertext.end());
    return NoiseError::ok;
  }
  if (n_ == UINT64_MAX) return NoiseError::nonce_exhausted;
  if (ciphertext.size() < kTagLen) return NoiseError::decrypt_failed;
  const std::size_t start = out.size();
  out.resize(start + ciphertext.size() - kTagLen);
  if (!cipher_decrypt(algo_, k_, n_, ad, ciphertext, out.data() + start)) {
    out.resize(start);
    return NoiseError::decrypt_failed;
  }
  ++n_;
  return NoiseError::ok;
}

NoiseError CipherState::rekey() {
  if (!has_key_) return NoiseError::no_key;
  k_ = cipher_rekey(algo_, k_);
  return NoiseError::ok;
}

}  // namespace netleash::tunnel
