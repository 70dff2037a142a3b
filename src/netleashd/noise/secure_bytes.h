// Byte containers for the tunnel: plain views and buffers, and a container for
// secrets that wipes itself with sodium_memzero when released, so key
// material does not linger in freed memory (Noise spec rev 34 §14 leaves this
// to implementations; libsodium's sodium_memzero is not optimised away).
#pragma once

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

namespace netleash::tunnel {

// libsodium must be initialised before randombytes and the AES-NI probe work.
// sodium_init() is idempotent and thread-safe; entry points call this.
inline void require_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

// A fixed-size secret (cipher key, chaining key, DH output, private key).
template <std::size_t N>
class Secret {
 public:
  Secret() { data_.fill(0); }
  explicit Secret(ByteView bytes) {
    if (bytes.size() != N) throw std::invalid_argument("secret has the wrong length");
    std::copy(bytes.begin(), bytes.end(), data_.begin());
  }
  Secret(const Secret&) = default;
  Secret& operator=(const Secret&) = default;
  ~Secret() { sodium_memzero(data_.data(), N); }

  static constexpr std::size_t size() { return N; }
  uint8_t* data() { return data_.data(); }
  const uint8_t* data() const { return data_.data(); }
  std::span<uint8_t, N> span() { return data_; }
  ByteView view() const { return {data_.data(), N}; }

 private:
  std::array<uint8_t, N> data_;
};

}  // namespace netleash::tunnel
