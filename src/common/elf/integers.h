// Byte-order- and alignment-safe integer fields for ELF structures.
//
// ELF fields are stored in the file's byte order, which need not be the host's, and a
// structure read from an arbitrary offset may be misaligned; casting raw bytes to a host
// integer would be undefined behaviour in both cases. Integer<T, LE> stores the bytes and
// converts on access (memcpy + byteswap), so reading and writing a field is plain
// assignment. The idea follows mold's lib/integers.h.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace netleash::elf {

template <typename T, bool LittleEndian>
class Integer {
 public:
  Integer() = default;
  Integer(T value) { store(value); }  // NOLINT: implicit by design, like a plain field

  operator T() const { return load(); }  // NOLINT
  Integer& operator=(T value) {
    store(value);
    return *this;
  }

 private:
  static constexpr bool kSwap = (std::endian::native == std::endian::little) != LittleEndian;

  static T swap(T value) {
    if constexpr (sizeof(T) == 1) {
      return value;
    } else {
      T out = 0;
      for (unsigned i = 0; i < sizeof(T); ++i) {
        out = static_cast<T>((out << 8) | ((value >> (8 * i)) & 0xff));
      }
      return out;
    }
  }
  T load() const {
    T value;
    std::memcpy(&value, bytes_, sizeof(T));
    return kSwap ? swap(value) : value;
  }
  void store(T value) {
    if (kSwap) value = swap(value);
    std::memcpy(bytes_, &value, sizeof(T));
  }

  unsigned char bytes_[sizeof(T)] = {};
};

}  // namespace netleash::elf
