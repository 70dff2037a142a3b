// Hex helpers for the tunnel tests (test vectors are hex strings).
#pragma once

#include "netleashd/noise/secure_bytes.h"

#include <stdexcept>
#include <string>
#include <string_view>

namespace netleash::tunnel::test {

inline Bytes from_hex(std::string_view hex) {
  Bytes out(hex.size() / 2);
  std::size_t written = 0;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &written, nullptr) != 0 ||
      written != out.size()) {
    throw std::invalid_argument("bad hex: " + std::string(hex));
  }
  return out;
}

inline std::string to_hex(ByteView bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

inline Bytes to_bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

}  // namespace netleash::tunnel::test
