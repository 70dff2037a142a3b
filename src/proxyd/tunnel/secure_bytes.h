// Byte containers for the tunnel: plain views and buffers, and containers for
// secrets that wipe themselves with sodium_memzero when released, so key
// material does not linger in freed memory (Noise spec rev 34 §14 leaves this
// to implementations; libsodium's sodium_memzero is not optimised away).
#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
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

// Allocator that wipes every buffer before giving it back, including the old
// buffer a std::vector abandons when it grows.
template <class T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() = default;
  template <class U>
  WipingAllocator(const WipingAllocator<U>&) {}  // NOLINT: rebinding must be implicit
  T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
  void deallocate(T* p, std::size_t n) {
    sodium_memzero(p, n * sizeof(T));
    std::allocator<T>{}.deallocate(p, n);
  }
  template <class U>
  bool operator==(const WipingAllocator<U>&) const { return true; }
};

// A variable-length secret (decrypted key file contents, PSK lists).
using SecretBytes = std::vector<uint8_t, WipingAllocator<uint8_t>>;

}  // namespace netleash::tunnel
