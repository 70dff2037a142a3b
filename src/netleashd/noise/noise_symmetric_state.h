// SymmetricState (Noise spec rev 34 §5.2): the handshake's CipherState plus
// the chaining key ck and the handshake hash h, both HASHLEN bytes.
#pragma once

#include "netleashd/noise/noise_cipher_state.h"
#include "netleashd/noise/noise_hash.h"

#include <string_view>
#include <utility>

namespace netleash::tunnel {

class SymmetricState {
 public:
  // InitializeSymmetric(protocol_name).
  SymmetricState(CipherAlgorithm cipher, HashAlgorithm hash, std::string_view protocol_name);

  void mix_key(ByteView input_key_material);
  void mix_hash(ByteView data);
  void mix_key_and_hash(ByteView input_key_material);
  [[nodiscard]] bool has_key() const { return cipher_.has_key(); }

  // Appends EncryptWithAd(h, plaintext) to out and mixes it into h.
  [[nodiscard]] NoiseError encrypt_and_hash(ByteView plaintext, Bytes& out);
  // Appends the plaintext to out; h is only updated if decryption succeeded.
  [[nodiscard]] NoiseError decrypt_and_hash(ByteView ciphertext, Bytes& out);

  // Split(): (initiator-to-responder, responder-to-initiator) cipher states.
  [[nodiscard]] std::pair<CipherState, CipherState> split() const;

  [[nodiscard]] ByteView handshake_hash() const { return ByteView(h_.data(), hash_len_); }

 private:
  CipherKey truncated_key(ByteView hash_output) const;

  HashAlgorithm hash_;
  std::size_t hash_len_;
  CipherState cipher_;
  Secret<kMaxHashLen> ck_;
  std::array<uint8_t, kMaxHashLen> h_{};
};

}  // namespace netleash::tunnel
