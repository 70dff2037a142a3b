// Noise hash functions (spec rev 34 §4.3, §12.5, §12.6, §12.8) on libsodium,
// and the HMAC-HASH and HKDF built from them.
//
// HMAC is RFC 2104 written out by hand over HASH() with the hash's BLOCKLEN,
// exactly as §4.3 requires. libsodium's keyed BLAKE2b (crypto_generichash with
// a key) is a different function and must not be used in its place; libsodium
// has no HMAC-BLAKE2b. BLAKE2s is not in libsodium and is not supported.
#pragma once

#include "netleashd/noise/secure_bytes.h"

#include <sodium.h>

#include <initializer_list>

namespace netleash::tunnel {

enum class HashAlgorithm { blake2b, sha256, sha512 };

inline constexpr std::size_t kMaxHashLen = 64;

[[nodiscard]] std::size_t hash_len(HashAlgorithm algo);   // HASHLEN
[[nodiscard]] std::size_t block_len(HashAlgorithm algo);  // BLOCKLEN

// Incremental HASH(): update() any number of times, then finish() once.
class Hasher {
 public:
  explicit Hasher(HashAlgorithm algo);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void update(ByteView data);
  // Writes hash_len(algo) bytes to out.
  void finish(std::span<uint8_t> out);

 private:
  HashAlgorithm algo_;
  union State {
    crypto_generichash_blake2b_state blake2b;
    crypto_hash_sha256_state sha256;
    crypto_hash_sha512_state sha512;
  } state_;
};

// HMAC-HASH(key, data0 || data1 || ...) (RFC 2104). Writes HASHLEN bytes.
void hmac(HashAlgorithm algo, ByteView key, std::initializer_list<ByteView> data,
          std::span<uint8_t> out);

// HKDF(chaining_key, input_key_material, num_outputs) of §4.3: fills out1 and
// out2, and out3 too when it is not empty. Each output is HASHLEN bytes.
void hkdf(HashAlgorithm algo, ByteView chaining_key, ByteView input_key_material,
          std::span<uint8_t> out1, std::span<uint8_t> out2, std::span<uint8_t> out3 = {});

}  // namespace netleash::tunnel
