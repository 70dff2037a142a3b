#include "netleashd/tunnel/tunnel_link.h"

#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {
namespace {

using tunnel::Bytes;
using tunnel::TunnelError;

// One read buffer and one plaintext buffer for every link on the loop: libuv
// calls alloc, read, read_cb in sequence and every consumer of link_data
// copies what it keeps, so nothing is held across callbacks. Idle links then
// hold no buffers of their own.
constexpr size_t kReadSize = 64 * 1024;
char g_read_buffer[kReadSize];
Bytes g_plaintext;

struct LinkWrite {
  uv_write_t req{};
  TunnelLink* link = nullptr;
  Bytes bytes;
};

void fail(TunnelLink* link, const std::string& reason) {
  if (link->failed || link->closing) return;
  link->failed = true;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&link->socket));
  link->events->link_failed(reason);
}

void on_write(uv_write_t* req, int status) {
  auto* write = static_cast<LinkWrite*>(req->data);
  TunnelLink* link = write->link;
  delete write;
  if (link->closing || link->failed) return;
  if (status < 0) return fail(link, std::string("write: ") + uv_strerror(status));
  if (link->marks.should_resume(link->socket.write_queue_size)) link->events->link_drained();
}

void on_shutdown(uv_shutdown_t* req, int /*status*/) {
  auto* link = static_cast<TunnelLink*>(req->data);
  if (link->closing || link->failed) return;
  link->events->link_finished();
}

// Both directions ended with close records: the TCP connection has done its
// job. uv_shutdown waits for the queued writes (our close record) first.
void maybe_finish(TunnelLink* link) {
  if (link->shutting_down || !link->close_sent || !link->connection->peer_closed()) return;
  link->shutting_down = true;
  link->shutdown.data = link;
  if (uv_shutdown(&link->shutdown, reinterpret_cast<uv_stream_t*>(&link->socket), on_shutdown) < 0)
    link->events->link_finished();
}

void flush(TunnelLink* link) {
  if (link->failed || link->closing) return;
  Bytes out = link->connection->take_outgoing();
  if (out.empty()) return;
  auto* stream = reinterpret_cast<uv_stream_t*>(&link->socket);
  size_t written = 0;
  if (stream->write_queue_size == 0) {
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(out.data()), static_cast<unsigned>(out.size()));
    const int n = uv_try_write(stream, &buf, 1);
    if (n < 0 && n != UV_EAGAIN) return fail(link, std::string("write: ") + uv_strerror(n));
    written = n > 0 ? static_cast<size_t>(n) : 0;
  }
  if (written == out.size()) return;
  auto* write = new LinkWrite;
  write->req.data = write;
  write->link = link;
  write->bytes = std::move(out);
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(write->bytes.data() + written),
                             static_cast<unsigned>(write->bytes.size() - written));
  if (const int status = uv_write(&write->req, stream, &buf, 1, on_write); status < 0) {
    delete write;
    fail(link, std::string("write: ") + uv_strerror(status));
  }
}

void on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) { *buf = uv_buf_init(g_read_buffer, kReadSize); }

void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* link = static_cast<TunnelLink*>(stream->data);
  if (link->failed || link->closing || nread == 0) return;
  if (nread == UV_EOF) {
    uv_read_stop(stream);
    // A clean end has delivered the peer's close record already.
    const TunnelError error = link->connection->end_of_stream();
    if (error != TunnelError::ok) fail(link, std::string(tunnel::to_string(error)));
    return;
  }
  if (nread < 0) return fail(link, std::string("read: ") + uv_strerror(static_cast<int>(nread)));
  g_plaintext.clear();
  const TunnelError error = link->connection->feed(
      tunnel::ByteView(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread)),
      g_plaintext);
  if (error != TunnelError::ok) return fail(link, std::string(tunnel::to_string(error)));
  flush(link);  // the responder's reply message
  if (link->connection->established() && !link->established_reported) {
    link->established_reported = true;
    link->events->link_established();
    if (link->failed || link->closing) return;
  }
  if (!g_plaintext.empty()) {
    link->events->link_data(g_plaintext);
    if (link->failed || link->closing) return;
  }
  if (link->connection->peer_closed() && !link->peer_close_reported) {
    link->peer_close_reported = true;
    link->events->link_peer_closed();
    if (link->failed || link->closing) return;
    maybe_finish(link);
  }
}

}  // namespace

void link_start(TunnelLink* link) {
  link->socket.data = link;
  uv_tcp_nodelay(&link->socket, 1);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&link->socket), on_alloc, on_read);
  flush(link);
}

void link_send(TunnelLink* link, tunnel::ByteView data) {
  if (link->failed || link->closing) return;
  const TunnelError error = link->connection->send(data);
  if (error != TunnelError::ok) return fail(link, std::string(tunnel::to_string(error)));
  flush(link);
}

void link_send_close(TunnelLink* link) {
  if (link->failed || link->closing || link->close_sent) return;
  const TunnelError error = link->connection->close();
  if (error != TunnelError::ok) return fail(link, std::string(tunnel::to_string(error)));
  link->close_sent = true;
  flush(link);
  maybe_finish(link);
}

void link_pause(TunnelLink* link) {
  if (link->paused || link->failed) return;
  link->paused = true;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&link->socket));
}

void link_resume(TunnelLink* link) {
  if (!link->paused || link->failed || link->closing) return;
  link->paused = false;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&link->socket), on_alloc, on_read);
}

size_t link_queued(const TunnelLink* link) { return link->socket.write_queue_size; }

void link_close(TunnelLink* link, bool reset, uv_close_cb on_closed) {
  auto* handle = reinterpret_cast<uv_handle_t*>(&link->socket);
  if (link->closing || uv_is_closing(handle)) return;
  link->closing = true;
  if (!reset || uv_tcp_close_reset(&link->socket, on_closed) != 0) uv_close(handle, on_closed);
}

std::string link_peer_address(const TunnelLink* link) {
  sockaddr_storage address{};
  int length = sizeof address;
  if (uv_tcp_getpeername(&link->socket, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    return "";
  return format_endpoint(from_sockaddr(reinterpret_cast<const sockaddr*>(&address)));
}

}  // namespace netleash::netleashd
