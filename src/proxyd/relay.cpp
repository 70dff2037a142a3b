#include "relay.h"

#include <cstdlib>
#include <cstring>

namespace netleash::proxyd {
namespace {

constexpr size_t kReadSize = 64 * 1024;

// One buffer for every read on the loop: libuv calls alloc, read, read_cb in
// sequence, and read_cb is done with the bytes before it returns.
char g_read_buffer[kReadSize];

// A write request and, right behind it in the same allocation, its bytes.
struct WriteRequest {
  uv_write_t req;
  RelayHalf* half;
  Relay* relay;
  char* data() { return reinterpret_cast<char*>(this + 1); }
};

void end(Relay* relay, const char* error) {
  if (relay->ended) return;
  relay->ended = true;
  relay->on_end(relay, error);
}

RelayHalf* half_reading(Relay* relay, uv_stream_t* stream) {
  return stream == relay->up.from ? &relay->up : &relay->down;
}

void on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) { *buf = uv_buf_init(g_read_buffer, kReadSize); }

void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);

void on_write(uv_write_t* req, int status) {
  auto* write = reinterpret_cast<WriteRequest*>(req);
  Relay* relay = write->relay;
  RelayHalf* half = write->half;
  std::free(write);
  if (relay->ended) return;  // cancelled by the close
  if (status < 0) return end(relay, uv_strerror(status));
  if (half->paused && relay->marks.should_resume(half->to->write_queue_size)) {
    half->paused = false;
    uv_read_start(half->from, on_alloc, on_read);
  }
}

void forward(Relay* relay, RelayHalf* half, const char* data, size_t length) {
  half->bytes += length;
  size_t written = 0;
  if (half->to->write_queue_size == 0) {
    uv_buf_t buf = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(length));
    const int n = uv_try_write(half->to, &buf, 1);
    if (n < 0 && n != UV_EAGAIN) return end(relay, uv_strerror(n));
    written = n > 0 ? static_cast<size_t>(n) : 0;
  }
  if (written == length) return;
  const size_t rest = length - written;
  auto* write = static_cast<WriteRequest*>(std::malloc(sizeof(WriteRequest) + rest));
  if (write == nullptr) return end(relay, "out of memory");
  write->half = half;
  write->relay = relay;
  std::memcpy(write->data(), data + written, rest);
  uv_buf_t buf = uv_buf_init(write->data(), static_cast<unsigned>(rest));
  const int status = uv_write(&write->req, half->to, &buf, 1, on_write);
  if (status < 0) {
    std::free(write);
    return end(relay, uv_strerror(status));
  }
  if (relay->marks.should_pause(half->to->write_queue_size)) {
    half->paused = true;
    uv_read_stop(half->from);
  }
}

void on_shutdown(uv_shutdown_t* req, int status) {
  auto* relay = static_cast<Relay*>(req->data);
  if (relay->ended) return;
  // The peer may already be gone (ENOTCONN): then nothing more can flow that way.
  (void)status;
  RelayHalf* half = req == &relay->up.shutdown ? &relay->up : &relay->down;
  half->shut = true;
  if (relay->up.shut && relay->down.shut) end(relay, nullptr);
}

void on_eof(Relay* relay, RelayHalf* half) {
  half->eof = true;
  uv_read_stop(half->from);
  half->shutdown.data = relay;
  if (uv_shutdown(&half->shutdown, half->to, on_shutdown) < 0) {
    half->shut = true;
    if (relay->up.shut && relay->down.shut) end(relay, nullptr);
  }
}

void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* relay = static_cast<Relay*>(stream->data);
  if (relay->ended || nread == 0) return;
  RelayHalf* half = half_reading(relay, stream);
  if (nread == UV_EOF) return on_eof(relay, half);
  if (nread < 0) return end(relay, uv_strerror(static_cast<int>(nread)));
  const char* data = buf->base;
  auto length = static_cast<size_t>(nread);
  if (half == &relay->up && relay->discard > 0) {
    const size_t dropped = length < relay->discard ? length : static_cast<size_t>(relay->discard);
    relay->discard -= dropped;
    data += dropped;
    length -= dropped;
  }
  if (length > 0) forward(relay, half, data, length);
}

}  // namespace

void relay_start(Relay* relay, uv_stream_t* app, uv_stream_t* upstream) {
  relay->up.from = relay->down.to = app;
  relay->up.to = relay->down.from = upstream;
  uv_read_start(app, on_alloc, on_read);
  uv_read_start(upstream, on_alloc, on_read);
}

}  // namespace netleash::proxyd
