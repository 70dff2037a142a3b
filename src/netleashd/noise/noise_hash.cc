#include "netleashd/noise/noise_hash.h"

#include <array>
#include <cassert>

namespace netleash::tunnel {

std::size_t hash_len(HashAlgorithm algo) {
  switch (algo) {
    case HashAlgorithm::blake2b: return 64;
    case HashAlgorithm::sha256: return 32;
    case HashAlgorithm::sha512: return 64;
  }
  return 0;
}

std::size_t block_len(HashAlgorithm algo) {
  switch (algo) {
    case HashAlgorithm::blake2b: return 128;
    case HashAlgorithm::sha256: return 64;
    case HashAlgorithm::sha512: return 128;
  }
  return 0;
}

Hasher::Hasher(HashAlgorithm algo) : algo_(algo) {
  switch (algo_) {
    case HashAlgorithm::blake2b:
      // Unkeyed BLAKE2b with a 64-byte digest (§12.8).
      crypto_generichash_blake2b_init(&state_.blake2b, nullptr, 0, 64);
      break;
    case HashAlgorithm::sha256: crypto_hash_sha256_init(&state_.sha256); break;
    case HashAlgorithm::sha512: crypto_hash_sha512_init(&state_.sha512); break;
  }
}

Hasher::~Hasher() { sodium_memzero(&state_, sizeof state_); }

void Hasher::update(ByteView data) {
  switch (algo_) {
    case HashAlgorithm::blake2b:
      crypto_generichash_blake2b_update(&state_.blake2b, data.data(), data.size());
      break;
    case HashAlgorithm::sha256:
      crypto_hash_sha256_update(&state_.sha256, data.data(), data.size());
      break;
    case HashAlgorithm::sha512:
      crypto_hash_sha512_update(&state_.sha512, data.data(), data.size());
      break;
  }
}

void Hasher::finish(std::span<uint8_t> out) {
  assert(out.size() == hash_len(algo_));
  switch (algo_) {
    case HashAlgorithm::blake2b:
      crypto_generichash_blake2b_final(&state_.blake2b, out.data(), out.size());
      break;
    case HashAlgorithm::sha256: crypto_hash_sha256_final(&state_.sha256, out.data()); break;
    case HashAlgorithm::sha512: crypto_hash_sha512_final(&state_.sha512, out.data()); break;
  }
}

void hmac(HashAlgorithm algo, ByteView key, std::initializer_list<ByteView> data,
          std::span<uint8_t> out) {
  const std::size_t blocklen = block_len(algo);
  const std::size_t hashlen = hash_len(algo);
  assert(out.size() == hashlen);

  // RFC 2104: a key longer than B is replaced by HASH(key); the key is then
  // zero-padded to B bytes. (Noise only passes HASHLEN-byte keys, which never
  // exceed BLOCKLEN, but the general rule costs nothing.)
  Secret<128> padded_key;
  if (key.size() > blocklen) {
    Hasher key_hasher(algo);
    key_hasher.update(key);
    key_hasher.finish(padded_key.span().first(hashlen));
  } else {
    std::copy(key.begin(), key.end(), padded_key.data());
  }

  Secret<128> pad;
  for (std::size_t i = 0; i < blocklen; ++i) pad.data()[i] = padded_key.data()[i] ^ 0x36;
  Secret<kMaxHashLen> inner_digest;
  {
    Hasher inner(algo);
    inner.update(pad.view().first(blocklen));
    for (ByteView part : data) inner.update(part);
    inner.finish(inner_digest.span().first(hashlen));
  }

  for (std::size_t i = 0; i < blocklen; ++i) pad.data()[i] = padded_key.data()[i] ^ 0x5c;
  Hasher outer(algo);
  outer.update(pad.view().first(blocklen));
  outer.update(inner_digest.view().first(hashlen));
  outer.finish(out);
}

void hkdf(HashAlgorithm algo, ByteView chaining_key, ByteView input_key_material,
          std::span<uint8_t> out1, std::span<uint8_t> out2, std::span<uint8_t> out3) {
  const std::size_t hashlen = hash_len(algo);
  Secret<kMaxHashLen> temp_key;
  const std::span<uint8_t> temp = temp_key.span().first(hashlen);
  hmac(algo, chaining_key, {input_key_material}, temp);

  static constexpr std::array<uint8_t, 3> kCounters{0x01, 0x02, 0x03};
  hmac(algo, temp, {ByteView(&kCounters[0], 1)}, out1);
  hmac(algo, temp, {out1, ByteView(&kCounters[1], 1)}, out2);
  if (!out3.empty()) hmac(algo, temp, {out2, ByteView(&kCounters[2], 1)}, out3);
}

}  // namespace netleash::tunnel
