// Framing of Noise messages on the TCP stream: a 2-byte big-endian length
// followed by that many bytes (Noise spec rev 34 §13 "Length fields"). A frame
// is 1..65535 bytes; zero-length frames are malformed.
#pragma once

#include "netleashd/noise/secure_bytes.h"

#include <array>

namespace netleash::tunnel {

inline constexpr std::size_t kFrameHeaderLen = 2;

// Appends the length header and `message` (1..65535 bytes) to out.
void append_frame(Bytes& out, ByteView message);

// Reassembles frames from stream bytes that arrive in arbitrary chunks. It
// buffers at most one frame (65535 bytes), whatever the input.
class FrameReader {
 public:
  // Consumes bytes until one frame is complete or the input runs out, and
  // returns how many it consumed. Consumes nothing while a frame is ready
  // (call next() first) or after a malformed header.
  std::size_t consume(ByteView input);

  [[nodiscard]] bool has_frame() const { return have_header_ == kFrameHeaderLen && body_.size() == length_; }
  [[nodiscard]] ByteView frame() const { return body_; }
  void next();  // drops the ready frame

  [[nodiscard]] bool malformed() const { return malformed_; }
  // True between frames: no partial header or body is buffered.
  [[nodiscard]] bool at_boundary() const { return have_header_ == 0; }

 private:
  std::array<uint8_t, kFrameHeaderLen> header_{};
  std::size_t have_header_ = 0;
  std::size_t length_ = 0;
  Bytes body_;
  bool malformed_ = false;
};

}  // namespace netleash::tunnel
