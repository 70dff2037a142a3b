#include "netleashd/stream/relay.h"

#include "netleashd/stream/relay_splice.h"
#include "netleashd/stream/stream_write.h"
#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {
namespace {

constexpr size_t kReadSize = 64 * 1024;

// One buffer for every read on the loop: libuv calls alloc, read, read_cb in
// sequence, and read_cb is done with the bytes before it returns.
char g_read_buffer[kReadSize];

RelayHalf* half_reading(Relay* relay, uv_stream_t* stream) {
  return stream == relay->up.from ? &relay->up : &relay->down;
}

void on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) { *buf = uv_buf_init(g_read_buffer, kReadSize); }

void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);

void on_write(uv_write_t* req, int status) {
  auto* half = static_cast<RelayHalf*>(req->data);
  Relay* relay = half->relay;
  stream_write_free(req);
  if (relay->ended) return;  // cancelled by the close
  if (status < 0) return relay_end(relay, uv_strerror(status));
  if (half->paused && relay->marks.should_resume(half->to->write_queue_size)) {
    half->paused = false;
    uv_read_start(half->from, on_alloc, on_read);
  }
}

// The success Result owed ahead of the first byte or EOF (Relay::owe_result).
size_t take_owed_result(Relay* relay, RelayHalf* half, wire::Reply* reply) {
  if (half != &relay->down || !relay->owe_result) return 0;
  relay->owe_result = false;
  *reply = make_reply(wire::ReplyKind::kResult, 0);
  return sizeof *reply;
}

// Moves the connection to splice(2) (Relay::splice_after) at a point where
// the copying path holds nothing: no padding or Result still owed, no write
// queued, no EOF yet, both sides being read. Only a connection that mostly
// receives (TCP -> the app's Unix socket) moves: that is where splice
// measured faster and cheaper; Unix -> TCP measured no better than copying
// (bench/README.md, "relay_bench.py").
void maybe_splice(Relay* relay) {
  if (relay->splice_after == 0 || relay->down.bytes < relay->splice_after || relay->down.bytes < relay->up.bytes)
    return;
  const RelayHalf& up = relay->up;
  const RelayHalf& down = relay->down;
  if (relay->ended || relay->discard > 0 || relay->owe_result || up.eof || down.eof || up.paused ||
      down.paused || up.to->write_queue_size > 0 || down.to->write_queue_size > 0)
    return;
  uv_read_stop(up.from);
  uv_read_stop(down.from);
  const int status = splice_start(relay);
  if (status == 0) return;
  // UV_EEXIST: a finished write's callback is still due on one stream, whose
  // poll watcher holds the descriptor until then; the next read tries again.
  if (status != UV_EEXIST) relay->splice_after = 0;
  relay_copy_again(relay);
}

void forward(Relay* relay, RelayHalf* half, const char* data, size_t length) {
  half->bytes += length;
  wire::Reply result;
  const size_t head = take_owed_result(relay, half, &result);
  const int status = stream_write_through(half->to, reinterpret_cast<const char*>(&result), head, data, length,
                                          half, on_write);
  if (status < 0) return relay_end(relay, uv_strerror(status));
  if (relay->marks.should_pause(half->to->write_queue_size)) {
    half->paused = true;
    uv_read_stop(half->from);
  }
  maybe_splice(relay);
}

void on_shutdown(uv_shutdown_t* req, int status) {
  auto* relay = static_cast<Relay*>(req->data);
  if (relay->ended) return;
  // The peer may already be gone (ENOTCONN): then nothing more can flow that way.
  (void)status;
  RelayHalf* half = req == &relay->up.shutdown ? &relay->up : &relay->down;
  half->shut = true;
  if (relay->up.shut && relay->down.shut) relay_end(relay, nullptr);
}

void on_eof(Relay* relay, RelayHalf* half) {
  half->eof = true;
  if (half == &relay->down && relay->owe_result) {
    forward(relay, half, nullptr, 0);  // the Result, then the EOF
    if (relay->ended) return;
    stream_shut_write_now(half->to);
  }
  uv_read_stop(half->from);
  half->shutdown.data = relay;
  if (uv_shutdown(&half->shutdown, half->to, on_shutdown) < 0) {
    half->shut = true;
    if (relay->up.shut && relay->down.shut) relay_end(relay, nullptr);
  }
}

void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* relay = static_cast<Relay*>(stream->data);
  if (relay->ended || nread == 0) return;
  RelayHalf* half = half_reading(relay, stream);
  if (nread == UV_EOF) return on_eof(relay, half);
  if (nread < 0) return relay_end(relay, uv_strerror(static_cast<int>(nread)));
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

Relay::Relay() = default;
Relay::~Relay() = default;

void relay_end(Relay* relay, const char* error) {
  if (relay->ended) return;
  relay->ended = true;
  relay->on_end(relay, error);
}

void relay_copy_again(Relay* relay) {
  for (RelayHalf* half : {&relay->up, &relay->down})
    if (!half->eof && !half->paused) uv_read_start(half->from, on_alloc, on_read);
}

int relay_close(Relay* relay, uv_close_cb closed, void* owner) {
  relay->ended = true;
  return relay->splice ? splice_close(relay->splice.get(), closed, owner) : 0;
}

void relay_start(Relay* relay, uv_stream_t* app, uv_stream_t* upstream) {
  relay->up.from = relay->down.to = app;
  relay->up.to = relay->down.from = upstream;
  relay->up.relay = relay->down.relay = relay;
  uv_read_start(app, on_alloc, on_read);
  uv_read_start(upstream, on_alloc, on_read);
}

}  // namespace netleash::netleashd
