// The relay's bulk path: socket -> pipe -> socket with splice(2), so the
// bytes of a long transfer never cross user space (relay.h decides when a
// connection moves here; it never moves back once a byte went through).
//
// libuv has no splice, so each of the two sockets gets a uv_poll handle,
// taking over from its stream handle (whose reading has stopped and whose
// write queue is empty; the stream still owns and closes the descriptor).
// Per direction: one pipe of `high_water` bytes (F_SETPIPE_SZ), filled from
// one socket and drained into the other. Backpressure: a direction whose
// pipe is full stops reading its source until the destination has taken the
// pipe down to `low_water`. Half-close: EOF on a source becomes
// shutdown(SHUT_WR) of the destination once the pipe is empty. Byte counts
// are taken as bytes enter a pipe, as the copying path counts reads.
//
// Memory per connection on this path: two pipes of at most `high_water`
// bytes each (256 KiB by default; the pages are those the sockets received,
// referenced, not copied), four descriptors, and this struct. A pipe the
// kernel will not enlarge (pipe-user-pages-soft, for a non-root daemon)
// keeps its size, and the relay then moves less per call.
#pragma once

#include <uv.h>

#include <cstddef>

namespace netleash::netleashd {

struct Relay;
struct RelayHalf;

struct SpliceDirection {
  RelayHalf* half = nullptr;
  int from = -1;  // the socket read
  int to = -1;    // the socket written
  int pipe_read = -1;
  int pipe_write = -1;
  size_t capacity = 0;  // most bytes the pipe is asked to hold
  size_t queued = 0;    // bytes in the pipe
  bool blocked = false;  // `to` took less than offered: wait until writable
};

struct SplicePath {
  Relay* relay = nullptr;
  uv_poll_t app_poll{};       // the app's socket: up.from, down.to
  uv_poll_t upstream_poll{};  // the other socket: down.from, up.to
  bool app_poll_open = false;
  bool upstream_poll_open = false;
  int app_events = 0;  // what each poll handle watches now
  int upstream_events = 0;
  bool moved = false;  // a byte went through a pipe: no way back to copying
  SpliceDirection up;
  SpliceDirection down;
};

// Takes both directions of `relay` over from the copying path, whose reading
// the caller has stopped. Returns 0, or a libuv error and the copying path
// stays: UV_EEXIST when a stream's poll watcher still holds its descriptor
// (try again later), anything else when splice cannot be set up (pipes, the
// descriptor limit).
int splice_start(Relay* relay);

// The owner's close (relay_close): closes the pipes and the poll handles
// that were opened (with `closed`, their data set to `owner`); returns how
// many handles will call `closed`.
int splice_close(SplicePath* path, uv_close_cb closed, void* owner);

}  // namespace netleash::netleashd
