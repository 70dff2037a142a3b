#include "netleashd/noise/noise_symmetric_state.h"

namespace netleash::tunnel {

SymmetricState::SymmetricState(CipherAlgorithm cipher, HashAlgorithm hash,
                               std::string_view protocol_name)
    : hash_(hash), hash_len_(hash_len(hash)), cipher_(cipher) {
  // A name that fits in HASHLEN is used as h directly, zero-padded; a longer
  // one is hashed.
  if (protocol_name.size() <= hash_len_) {
    std::copy(protocol_name.begin(), protocol_name.end(), h_.begin());
  } else {
    Hasher hasher(hash_);
    hasher.update(ByteView(reinterpret_cast<const uint8_t*>(protocol_name.data()),
                           protocol_name.size()));
    hasher.finish(std::span(h_).first(hash_len_));
  }
  std::copy(h_.begin(), h_.end(), ck_.data());
}

CipherKey SymmetricState::truncated_key(ByteView hash_output) const {
  // "If HASHLEN is 64, then truncates temp_k to 32 bytes."
  return CipherKey(hash_output.first(kCipherKeyLen));
}

void SymmetricState::mix_key(ByteView input_key_material) {
  Secret<kMaxHashLen> new_ck, temp_k;
  hkdf(hash_, ck_.view().first(hash_len_), input_key_material, new_ck.span().first(hash_len_),
       temp_k.span().first(hash_len_));
  ck_ = new_ck;
  cipher_.initialize_key(truncated_key(temp_k.view()));
}

void SymmetricState::mix_hash(ByteView data) {
  Hasher hasher(hash_);
  hasher.update(handshake_hash());
  hasher.update(data);
  hasher.finish(std::span(h_).first(hash_len_));
}

void SymmetricState::mix_key_and_hash(ByteView input_key_material) {
  Secret<kMaxHashLen> new_ck, temp_h, temp_k;
  hkdf(hash_, ck_.view().first(hash_len_), input_key_material, new_ck.span().first(hash_len_),
       temp_h.span().first(hash_len_), temp_k.span().first(hash_len_));
  ck_ = new_ck;
  mix_hash(temp_h.view().first(hash_len_));
  cipher_.initialize_key(truncated_key(temp_k.view()));
}

NoiseError SymmetricState::encrypt_and_hash(ByteView plaintext, Bytes& out) {
  const std::size_t start = out.size();
  if (const NoiseError e = cipher_.encrypt_with_ad(handshake_hash(), plaintext, out);
      e != NoiseError::ok) {
    return e;
  }
  mix_hash(ByteView(out).subspan(start));
  return NoiseError::ok;
}

NoiseError SymmetricState::decrypt_and_hash(ByteView ciphertext, Bytes& out) {
  if (const NoiseError e = cipher_.decrypt_with_ad(handshake_hash(), ciphertext, out);
      e != NoiseError::ok) {
    return e;
  }
  mix_hash(ciphertext);
  return NoiseError::ok;
}

std::pair<CipherState, CipherState> SymmetricState::split() const {
  Secret<kMaxHashLen> temp_k1, temp_k2;
  hkdf(hash_, ck_.view().first(hash_len_), {}, temp_k1.span().first(hash_len_),
       temp_k2.span().first(hash_len_));
  std::pair<CipherState, CipherState> result{CipherState(cipher_.algorithm()),
                                             CipherState(cipher_.algorithm())};
  result.first.initialize_key(truncated_key(temp_k1.view()));
  result.second.initialize_key(truncated_key(temp_k2.view()));
  return result;
}

}  // namespace netleash::tunnel
