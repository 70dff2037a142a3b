#include "netleashd/tunnel/tunnel_relay.h"

#include "netleashd/tunnel/record.h"
#include "netleashd/stream/stream_write.h"
#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {
namespace {

// Reads of the plain side become one data record each: reading at most one
// record's worth keeps 64 KiB reads from turning into a full and a tiny record.
char g_plain_buffer[tunnel::kMaxRecordData];

TunnelRelay* relay_of(uv_handle_t* handle) { return static_cast<TunnelRelay*>(handle->data); }

void on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  *buf = uv_buf_init(g_plain_buffer, sizeof g_plain_buffer);
}

void on_plain_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  relay_of(reinterpret_cast<uv_handle_t*>(stream))->plain_read(nread, buf->base);
}

void on_plain_write(uv_write_t* req, int status) {
  auto* relay = static_cast<TunnelRelay*>(req->data);
  stream_write_free(req);
  relay->plain_written(status);
}

void on_plain_shutdown(uv_shutdown_t* req, int /*status*/) {
  // ENOTCONN (the plain peer is gone) ends that direction just the same.
  static_cast<TunnelRelay*>(req->data)->plain_shut();
}

}  // namespace

TunnelRelay::TunnelRelay(uv_stream_t* plain, TunnelLink* link, Watermarks marks, uint64_t discard,
                         EndCallback on_end, void* owner)
    : plain_(plain), link_(link), marks_(marks), discard_(discard), on_end_(on_end), owner_(owner) {}

void TunnelRelay::start(tunnel::ByteView early) {
  plain_->data = this;
  link_->events = this;
  link_->marks = marks_;
  if (!early.empty()) link_data(early);
  if (ended_) return;
  uv_read_start(plain_, on_alloc, on_plain_read);
  if (link_->connection->peer_closed()) link_peer_closed();
}

void TunnelRelay::end(const std::string& error) {
  if (ended_) return;
  ended_ = true;
  on_end_(this, error);
}

void TunnelRelay::check_done() {
  if (plain_shut_ && link_done_) end("");
}

void TunnelRelay::plain_read(ssize_t nread, const char* data) {
  if (ended_ || nread == 0) return;
  if (nread == UV_EOF) {
    plain_eof_ = true;
    uv_read_stop(plain_);
    link_send_close(link_);
    return;
  }
  if (nread < 0) return end(std::string("plain side: ") + uv_strerror(static_cast<int>(nread)));
  auto length = static_cast<size_t>(nread);
  const size_t dropped = length < discard_ ? length : static_cast<size_t>(discard_);
  discard_ -= dropped;
  length -= dropped;
  if (length == 0) return;
  bytes_to_link_ += length;
  link_send(link_, tunnel::ByteView(reinterpret_cast<const uint8_t*>(data + dropped), length));
  if (!ended_ && marks_.should_pause(link_queued(link_))) {
    plain_paused_ = true;
    uv_read_stop(plain_);
  }
}

void TunnelRelay::link_drained() {
  if (!plain_paused_ || plain_eof_ || ended_) return;
  plain_paused_ = false;
  uv_read_start(plain_, on_alloc, on_plain_read);
}

void TunnelRelay::link_data(tunnel::ByteView data) {
  bytes_from_link_ += data.size();
  write_plain(reinterpret_cast<const char*>(data.data()), data.size());
}

void TunnelRelay::write_plain(const char* data, size_t length) {
  // The success Result a padded connect is owed goes ahead of the first byte
  // or the EOF (relay.h, Relay::owe_result).
  wire::Reply result;
  size_t head = 0;
  if (owe_result_) {
    owe_result_ = false;
    result = make_reply(wire::ReplyKind::kResult, 0);
    head = sizeof result;
  }
  const int status = stream_write_through(plain_, reinterpret_cast<const char*>(&result), head, data, length,
                                          this, on_plain_write);
  if (status < 0) return end(std::string("plain side: ") + uv_strerror(status));
  if (marks_.should_pause(plain_->write_queue_size)) link_pause(link_);
}

void TunnelRelay::plain_written(int status) {
  if (ended_) return;  // cancelled by the close
  if (status < 0) return end(std::string("plain side: ") + uv_strerror(status));
  if (link_->paused && marks_.should_resume(plain_->write_queue_size)) link_resume(link_);
}

void TunnelRelay::link_peer_closed() {
  if (ended_ || plain_shutdown_.data != nullptr) return;
  if (owe_result_) {
    write_plain(nullptr, 0);
    if (ended_) return;
    stream_shut_write_now(plain_);
  }
  plain_shutdown_.data = this;
  if (uv_shutdown(&plain_shutdown_, plain_, on_plain_shutdown) < 0) plain_shut();
}

void TunnelRelay::plain_shut() {
  if (ended_) return;
  plain_shut_ = true;
  check_done();
}

void TunnelRelay::link_finished() {
  link_done_ = true;
  check_done();
}

}  // namespace netleash::netleashd
