// The data phase of a TCP connection: bytes both ways between the app's Unix
// stream and the upstream TCP socket, with no framing.
//
// Memory: reads land in one loop-wide 64 KiB buffer and are written through
// at once (uv_try_write); only what the other side cannot take now is copied
// into a write request. A side stops being read while the other side has more
// than `high` bytes queued and resumes at `low`, so a connection holds at
// most about high + 64 KiB per direction, and an idle one holds none.
//
// EOF on one side becomes shutdown(SHUT_WR) on the other once its queue is
// written (half-close both ways); an error on either side ends the relay.
#pragma once

#include <uv.h>

#include <cstdint>

#include "connection_limits.h"

namespace netleash::proxyd {

struct Relay;

struct RelayHalf {
  Relay* relay = nullptr;
  uv_stream_t* from = nullptr;
  uv_stream_t* to = nullptr;
  uint64_t bytes = 0;
  bool paused = false;      // reading `from` stopped for backpressure
  bool eof = false;         // `from` said EOF
  bool shut = false;        // shutdown of `to` finished
  uv_shutdown_t shutdown{};
};

struct Relay {
  RelayHalf up;    // app -> upstream
  RelayHalf down;  // upstream -> app
  Watermarks marks{};
  uint64_t discard = 0;  // padding still to drop from the app side
  // A padded (non-blocking) connect: the success Result goes to the app
  // ahead of the first upstream byte or the EOF, not on its own, so the app's
  // socket turns readable only with data, as TCP does (docs/protocol.md).
  bool owe_result = false;
  bool ended = false;
  // Called once, when both halves are shut or either failed. `error` is
  // nullptr for a clean end. The callback closes the handles.
  void (*on_end)(Relay* relay, const char* error) = nullptr;
  void* owner = nullptr;
};

// Starts relaying between two open streams whose `data` is `relay`.
void relay_start(Relay* relay, uv_stream_t* app, uv_stream_t* upstream);

}  // namespace netleash::proxyd
