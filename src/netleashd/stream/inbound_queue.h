// The app's side of a listener: the unix stream its listen() opened with
// Op::kListen. The daemon writes one AcceptRecord (+ the connection's fd by
// SCM_RIGHTS) per admitted client and never reads anything but EOF from it.
//
// Backlog: records the app has not read yet are the queue. Its length is
// SIOCOUTQ (bytes the kernel still charges to our end: the true size of
// each unread record) divided by the true size of one record, measured
// once. SO_SNDBUF is sized so that the socket turns writable when the queue
// has room again, which is how a full queue learns it may take more.
#pragma once

#include <uv.h>

#include "netleashd/daemon.h"
#include "netleashd/intake/identity.h"
#include "common/wire.h"

namespace netleash::netleashd {

struct InboundListener;

struct AcceptQueue final : Tracked {
  Daemon* d;
  PeerIdentity who;
  InboundListener* listener = nullptr;
  int fd;
  wire::Address bound;  // the app's virtual address; its family is the app socket's
  // What the app's getsockname says (normalized): `bound` with the port a
  // port-0 bind was given; where a leashed client finds it (inbound_registry).
  wire::Address local;
  wire::SocketOptions options;
  int backlog;
  uint32_t flags;       // wire::kFlagReusePort, wire::kFlagV6Only
  int sndbuf = 0;       // the kernel's (doubled) SO_SNDBUF of fd
  bool watching_room = false;
  bool closing = false;
  int open_handles = 0;
  uv_poll_t poll{};
  uv_timer_t recheck{};

  AcceptQueue(Daemon* daemon, int client, PeerIdentity peer, const wire::Request& request);
  void stop() override;
};

// Takes ownership of `fd` (the kListen stream, its Request read). Starts
// watching it for the app's close; the caller sets `listener` and replies.
AcceptQueue* accept_queue_open(Daemon* d, int fd, PeerIdentity who, const wire::Request& request);

// Whether one more record fits within the backlog now.
bool accept_queue_has_room(const AcceptQueue* q);

// Whether the app's socket can represent `peer` (an AF_INET socket takes no
// IPv6 peers; an IPV6_V6ONLY one no IPv4 peers).
bool accept_queue_takes(const AcceptQueue* q, const wire::Address& peer);

// Sends one record and `app_end`. Returns 0 or an errno (the app is gone).
int accept_queue_deliver(AcceptQueue* q, const wire::Address& peer, int app_end);

// The same for a connection joined in the daemon (inbound_join), even when
// the queue is full: a real host keeps such a client retrying its SYN until
// the server accepts, so its connect must not fail. Bounded by the apps'
// connection limits, which both ends of a joined connection take.
int accept_queue_deliver_past_backlog(AcceptQueue* q, const wire::Address& peer, int app_end);

// Tells the listener (inbound_listener_room) once the queue has room again.
void accept_queue_watch_room(AcceptQueue* q, bool on);

// Stops the queue; the listener forgets it first (inbound_listener_detach).
void accept_queue_close(AcceptQueue* q);

}  // namespace netleash::netleashd
