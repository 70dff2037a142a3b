// The data phase of a tunnelled connection: bytes between a plain stream
// (the app's Unix stream on the dialling host, the upstream TCP socket on the
// accepting host) and a TunnelLink, with the same rules as relay.h:
// backpressure by watermarks in both directions, half-close both ways (EOF on
// the plain side becomes the close record; the peer's close record becomes
// shutdown(SHUT_WR) of the plain side), and any error ends both.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>

#include "netleashd/tunnel/tunnel_link.h"

namespace netleash::netleashd {

class TunnelRelay final : public LinkEvents {
 public:
  // Called once: error empty for a clean end. The callback closes the handles.
  using EndCallback = void (*)(TunnelRelay* relay, const std::string& error);

  TunnelRelay(uv_stream_t* plain, TunnelLink* link, Watermarks marks, uint64_t discard,
              EndCallback on_end, void* owner);

  // `early`: plaintext that arrived from the link before the relay started.
  void start(tunnel::ByteView early);

  // A padded connect: its success Result goes ahead of the first byte or EOF.
  void owe_result() { owe_result_ = true; }
  void* owner() const { return owner_; }
  uint64_t bytes_to_link() const { return bytes_to_link_; }
  uint64_t bytes_from_link() const { return bytes_from_link_; }

  // Internal (libuv callbacks).
  void plain_read(ssize_t nread, const char* data);
  void plain_written(int status);
  void plain_shut();

  void link_established() override {}
  void link_data(tunnel::ByteView data) override;
  void link_peer_closed() override;
  void link_drained() override;
  void link_finished() override;
  void link_failed(const std::string& reason) override { end(reason); }

 private:
  void end(const std::string& error);
  void write_plain(const char* data, size_t length);
  void check_done();

  uv_stream_t* plain_;
  TunnelLink* link_;
  Watermarks marks_;
  uint64_t discard_;  // padding still to drop from the app (docs/protocol.md)
  EndCallback on_end_;
  void* owner_;
  uint64_t bytes_to_link_ = 0;
  uint64_t bytes_from_link_ = 0;
  bool plain_paused_ = false;
  bool plain_eof_ = false;
  bool plain_shut_ = false;
  bool link_done_ = false;
  bool ended_ = false;
  bool owe_result_ = false;
  uv_shutdown_t plain_shutdown_{};
};

}  // namespace netleash::netleashd
