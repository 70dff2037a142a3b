// TAI64N timestamps (https://cr.yp.to/libtai/tai64.html), as WireGuard puts
// in its first handshake message: 8 bytes big-endian 2^62 + 10 + Unix seconds
// (the TAI64 label of the Unix time, with the 1970 TAI-UTC offset WireGuard
// uses), then 4 bytes big-endian nanoseconds (< 10^9). Byte order makes
// lexicographic comparison equal to time order.
#pragma once

#include "netleashd/noise/secure_bytes.h"

#include <array>
#include <compare>
#include <cstdint>
#include <optional>

namespace netleash::tunnel {

inline constexpr std::size_t kTai64nLen = 12;

struct Tai64n {
  std::array<uint8_t, kTai64nLen> bytes{};
  auto operator<=>(const Tai64n&) const = default;
};

[[nodiscard]] Tai64n tai64n_from_unix(int64_t seconds, uint32_t nanoseconds);
// nullopt unless 12 bytes with nanoseconds < 10^9.
[[nodiscard]] std::optional<Tai64n> parse_tai64n(ByteView bytes);

// Timestamps for first handshake messages: the wall clock, but strictly
// increasing within the process even if the clock stands still or steps back
// (then 1 ns after the previous one). Not whitened like WireGuard's: only the
// configured peer, which can decrypt it, ever sees it.
class TimestampSource {
 public:
  [[nodiscard]] Tai64n next();

 private:
  std::optional<Tai64n> last_;
};

}  // namespace netleash::tunnel
