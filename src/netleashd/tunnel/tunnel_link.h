// One daemon-to-daemon TCP connection carrying a tunnel::TunnelConnection:
// reads the socket and feeds the protocol, writes what the protocol produces,
// and reports to its owner through LinkEvents. The owner (the dialling or the
// accepting session, then the relay) decides what the plaintext means.
#pragma once

#include <uv.h>

#include <optional>
#include <string>

#include "netleashd/decide/connection_limits.h"
#include "netleashd/tunnel/tunnel_connection.h"

namespace netleash::netleashd {

class LinkEvents {
 public:
  virtual void link_established() = 0;                 // handshake done
  virtual void link_data(tunnel::ByteView data) = 0;   // decrypted bytes (copy what you keep)
  virtual void link_peer_closed() = 0;                 // the peer's close record arrived
  virtual void link_drained() = 0;                     // queued writes fell to the low mark
  virtual void link_finished() = 0;                    // both close records done, TCP shut down
  virtual void link_failed(const std::string& reason) = 0;  // final; the owner closes the link

 protected:
  ~LinkEvents() = default;
};

struct TunnelLink {
  uv_tcp_t socket{};
  std::optional<tunnel::TunnelConnection> connection;
  LinkEvents* events = nullptr;
  Watermarks marks{};
  bool paused = false;          // reading stopped for backpressure
  bool failed = false;
  bool closing = false;         // the owner closed the handle: report nothing more
  bool established_reported = false;
  bool peer_close_reported = false;
  bool close_sent = false;
  bool shutting_down = false;
  uv_shutdown_t shutdown{};
};

// Starts reading and writes what the connection already holds (the
// initiator's first message). `link->socket` must be open and connected.
void link_start(TunnelLink* link);

// Encrypts and writes application bytes / the close record. Errors go to
// link_failed.
void link_send(TunnelLink* link, tunnel::ByteView data);
void link_send_close(TunnelLink* link);

// Backpressure from the owner: stop / resume reading the socket.
void link_pause(TunnelLink* link);
void link_resume(TunnelLink* link);
size_t link_queued(const TunnelLink* link);

// Closes the socket (with a TCP reset when `reset`: a broken tunnel must not
// look like a finished one). `on_closed` gets the socket handle.
void link_close(TunnelLink* link, bool reset, uv_close_cb on_closed);

// "PEER-ADDRESS" of the socket, for logs and audit lines.
std::string link_peer_address(const TunnelLink* link);

}  // namespace netleash::netleashd
