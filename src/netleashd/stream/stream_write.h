// Writing to a libuv stream without holding memory for what the kernel takes
// at once: both relays (relay.h, tunnel_relay.h) write through this.
#pragma once

#include <uv.h>

#include <cstddef>

namespace netleash::netleashd {

// Writes `head` (may be empty) then `data` to `to`: straight to the kernel
// (uv_try_write) when nothing is queued, and only the part it did not take is
// copied into one uv_write, whose req->data is `context` and whose callback
// is `done`. `done` must call stream_write_free(req) before anything else.
// Returns 0 or a libuv error (nothing queued then).
int stream_write_through(uv_stream_t* to, const char* head, size_t head_length, const char* data,
                         size_t length, void* context, uv_write_cb done);

void stream_write_free(uv_write_t* req);

// shutdown(SHUT_WR) of `to` right now when nothing is queued, rather than on
// libuv's next loop turn: after the owed Result of a padded connect, so the
// app is woken once, by the Result and the EOF together. The uv_shutdown
// that follows still runs (a second shutdown is harmless).
void stream_shut_write_now(uv_stream_t* to);

}  // namespace netleash::netleashd
