#include "netleashd/tunnel/frame.h"

#include "netleashd/noise/noise_error.h"

#include <algorithm>
#include <stdexcept>

namespace netleash::tunnel {

void append_frame(Bytes& out, ByteView message) {
  if (message.empty() || message.size() > kMaxNoiseMessage) {
    throw std::length_error("frame body must be 1..65535 bytes");
  }
  out.push_back(static_cast<uint8_t>(message.size() >> 8));
  out.push_back(static_cast<uint8_t>(message.size() & 0xff));
  out.insert(out.end(), message.begin(), message.end());
}

std::size_t FrameReader::consume(ByteView input) {
  if (malformed_ || has_frame()) return 0;
  std::size_t used = 0;
  while (have_header_ < kFrameHeaderLen && used < input.size()) {
    header_[have_header_++] = input[used++];
    if (have_header_ == kFrameHeaderLen) {
      length_ = std::size_t{header_[0]} << 8 | header_[1];
      if (length_ == 0) {
        malformed_ = true;
        return used;
      }
      body_.reserve(length_);
    }
  }
  if (have_header_ < kFrameHeaderLen) return used;
  const std::size_t take = std::min(length_ - body_.size(), input.size() - used);
  body_.insert(body_.end(), input.begin() + static_cast<std::ptrdiff_t>(used),
               input.begin() + static_cast<std::ptrdiff_t>(used + take));
  return used + take;
}

void FrameReader::next() {
  have_header_ = 0;
  length_ = 0;
  body_.clear();
}

}  // namespace netleash::tunnel
