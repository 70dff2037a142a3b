#include "netleashd/dns/stream.h"

#include <unistd.h>

#include <vector>

#include "netleashd/dns/answer.h"

namespace netleash::netleashd::dns {
namespace {

// Replies the app has not read yet, beyond which reading its queries pauses.
constexpr size_t kMaxUnreadReplyBytes = 64 * 1024;

struct DnsStream final : Tracked {
  Daemon* d;
  PeerIdentity who;
  uv_pipe_t pipe{};
  std::vector<uint8_t> pending;  // received bytes not yet a whole message
  size_t in_flight = 0;
  bool reading = false;
  bool answering = false;  // in answer_messages
  bool closing = false;
  Liveness alive = std::make_shared<bool>(true);

  DnsStream(Daemon* daemon, PeerIdentity peer) : d(daemon), who(std::move(peer)) {}
  void stop() override;
};

struct Write {
  uv_write_t req;
  std::vector<uint8_t> bytes;
};

void on_closed(uv_handle_t* handle) {
  auto* s = static_cast<DnsStream*>(handle->data);
  s->d->untrack(s);
  delete s;
}

void close_stream(DnsStream* s) {
  if (s->closing) return;
  s->closing = true;
  *s->alive = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&s->pipe), on_closed);
}

void DnsStream::stop() { close_stream(this); }

void on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  static char chunk[64 * 1024];  // loop-wide: copied into `pending` at once
  *buf = uv_buf_init(chunk, sizeof chunk);
}

void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
void answer_messages(DnsStream* s);

// Room for more queries: few enough lookups running and replies unread.
bool has_room(DnsStream* s) {
  return !s->closing && s->in_flight < kMaxQueriesInFlight &&
         uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(&s->pipe)) < kMaxUnreadReplyBytes;
}

// Reads while there is room, so that what a connection holds stays bounded.
void update_reading(DnsStream* s) {
  if (s->closing) return;
  auto* stream = reinterpret_cast<uv_stream_t*>(&s->pipe);
  if (has_room(s) && !s->reading) {
    if (uv_read_start(stream, on_alloc, on_read) == 0) s->reading = true;
  } else if (!has_room(s) && s->reading) {
    uv_read_stop(stream);
    s->reading = false;
  }
}

void on_written(uv_write_t* req, int status) {
  auto* write = reinterpret_cast<Write*>(req);
  auto* s = static_cast<DnsStream*>(req->handle->data);
  delete write;
  if (status < 0) return close_stream(s);
  answer_messages(s);
}

void send_reply(DnsStream* s, std::vector<uint8_t> reply) {
  --s->in_flight;
  if (!reply.empty()) {
    auto* write = new Write;
    write->bytes.reserve(2 + reply.size());
    write->bytes.push_back(static_cast<uint8_t>(reply.size() >> 8));
    write->bytes.push_back(static_cast<uint8_t>(reply.size()));
    write->bytes.insert(write->bytes.end(), reply.begin(), reply.end());
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(write->bytes.data()),
                               static_cast<unsigned>(write->bytes.size()));
    if (uv_write(&write->req, reinterpret_cast<uv_stream_t*>(&s->pipe), &buf, 1, on_written) != 0) {
      delete write;
      return close_stream(s);
    }
  }
  answer_messages(s);
}

// Starts an answer for every whole message received, while there is room.
// A reply can come before answer_query returns and call back in here: the
// inner call leaves the work to the outer loop.
void answer_messages(DnsStream* s) {
  if (s->answering) return;
  s->answering = true;
  size_t used = 0;
  while (has_room(s) && s->pending.size() - used >= 2) {
    const size_t length = static_cast<size_t>(s->pending[used] << 8 | s->pending[used + 1]);
    if (s->pending.size() - used - 2 < length) break;
    const std::vector<uint8_t> message(s->pending.begin() + used + 2, s->pending.begin() + used + 2 + length);
    used += 2 + length;
    ++s->in_flight;
    answer_query(*s->d, s->who, message, true, [s, alive = s->alive](std::vector<uint8_t> reply) {
      if (*alive) send_reply(s, std::move(reply));
    });
  }
  s->pending.erase(s->pending.begin(), s->pending.begin() + used);
  s->answering = false;
  update_reading(s);
}

void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* s = static_cast<DnsStream*>(stream->data);
  if (nread < 0) return close_stream(s);  // EOF: the app's connection is gone
  const auto* bytes = reinterpret_cast<const uint8_t*>(buf->base);
  s->pending.insert(s->pending.end(), bytes, bytes + nread);
  answer_messages(s);
}

}  // namespace

void serve_stream(Daemon& d, PeerIdentity who, int fd) {
  auto* s = new DnsStream(&d, std::move(who));
  d.track(s);
  uv_pipe_init(d.loop, &s->pipe, 0);
  s->pipe.data = s;
  if (uv_pipe_open(&s->pipe, fd) != 0) {
    close(fd);
    return close_stream(s);
  }
  update_reading(s);
}

}  // namespace netleash::netleashd::dns
