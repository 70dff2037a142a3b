#include "netleashd/tunnel/tai64n.h"

#include <ctime>

namespace netleash::tunnel {
namespace {

constexpr uint64_t kTai64UnixEpoch = (uint64_t{1} << 62) + 10;
constexpr uint32_t kNanosPerSecond = 1'000'000'000;

uint64_t seconds_of(const Tai64n& t) {
  uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) value = value << 8 | t.bytes[i];
  return value;
}

uint32_t nanos_of(const Tai64n& t) {
  uint32_t value = 0;
  for (std::size_t i = 8; i < 12; ++i) value = value << 8 | t.bytes[i];
  return value;
}

Tai64n encode(uint64_t label, uint32_t nanoseconds) {
  Tai64n t;
  for (std::size_t i = 0; i < 8; ++i) t.bytes[7 - i] = static_cast<uint8_t>(label >> (8 * i));
  for (std::size_t i = 0; i < 4; ++i) t.bytes[11 - i] = static_cast<uint8_t>(nanoseconds >> (8 * i));
  return t;
}

}  // namespace

Tai64n tai64n_from_unix(int64_t seconds, uint32_t nanoseconds) {
  return encode(kTai64UnixEpoch + static_cast<uint64_t>(seconds), nanoseconds);
}

std::optional<Tai64n> parse_tai64n(ByteView bytes) {
  if (bytes.size() != kTai64nLen) return std::nullopt;
  Tai64n t;
  std::copy(bytes.begin(), bytes.end(), t.bytes.begin());
  if (nanos_of(t) >= kNanosPerSecond) return std::nullopt;
  return t;
}

Tai64n TimestampSource::next() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  Tai64n t = tai64n_from_unix(now.tv_sec, static_cast<uint32_t>(now.tv_nsec));
  if (last_ && t <= *last_) {
    uint64_t label = seconds_of(*last_);
    uint32_t nanos = nanos_of(*last_) + 1;
    if (nanos == kNanosPerSecond) {
      nanos = 0;
      ++label;
    }
    t = encode(label, nanos);
  }
  last_ = t;
  return t;
}

}  // namespace netleash::tunnel
