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
//
// A connection that has received `splice_after` bytes from upstream (and
// more than it sent), and owes nothing more to the wire protocol (padding
// dropped, Result sent), leaves this copying path for splice(2) through two
// pipes (relay_splice.h): bulk downloads then never cross user space. The
// copying path stays for the first bytes, where the pipes would cost more
// system calls than they save, and for uploads, where splice measured no
// better.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>

#include "netleashd/decide/connection_limits.h"

namespace netleash::netleashd {

struct Relay;
struct SplicePath;  // relay_splice.h

// Bytes a connection receives by copying before it moves to splice(2).
constexpr uint64_t kSpliceAfter = 128 * 1024;

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
  // Move to splice(2) once down.bytes reach this (and up.bytes); 0: never.
  uint64_t splice_after = 0;
  std::unique_ptr<SplicePath> splice;  // set up at the move
  // Called once, when both halves are shut or either failed. `error` is
  // nullptr for a clean end. The callback closes the handles.
  void (*on_end)(Relay* relay, const char* error) = nullptr;
  void* owner = nullptr;

  Relay();
  ~Relay();
};

// Starts relaying between two open streams whose `data` is `relay`.
void relay_start(Relay* relay, uv_stream_t* app, uv_stream_t* upstream);

// For the owner's close, before it closes the two streams: stops the relay
// and closes the handles it opened itself (the splice path's poll handles,
// with `closed` and `data` = `owner`) and its pipes. Returns how many handles
// will call `closed`.
int relay_close(Relay* relay, uv_close_cb closed, void* owner);

// For relay_splice.cc: the end of the relay (`error` nullptr for a clean
// end), and the way back to copying when splice(2) refuses the descriptors.
void relay_end(Relay* relay, const char* error);
void relay_copy_again(Relay* relay);

}  // namespace netleash::netleashd
