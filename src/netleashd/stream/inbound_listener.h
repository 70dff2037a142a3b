// Inbound TCP: Op::kListen. The daemon checks the app's inbound rules for
// the virtual address it bound, listens for real on the rule's `expose`
// address, and hands each admitted peer's connection to one of the app's
// listening sockets (AcceptQueue). Peers outside `from` are closed at once
// and audited.
//
// Several listening sockets of one app on one virtual port share one real
// listener, as the kernel lets them share a port: sockets that all set
// SO_REUSEPORT (each connection goes to one of them, in turn), or an IPv4
// and an IPV6_V6ONLY IPv6 socket (each takes its family's peers). Any other
// second listen on the same virtual port fails with EADDRINUSE, as a second
// bind would in the kernel (bind itself cannot tell: it is only recorded).
#pragma once

#include <uv.h>

#include <string>
#include <vector>

#include "netleashd/intake/identity.h"
#include "common/wire.h"

namespace netleash::netleashd {

struct Daemon;
struct AcceptQueue;

struct InboundListener {
  Daemon* d = nullptr;
  std::string key;      // in the shared-listener registry; empty for a port-0 bind
  int fd = -1;
  wire::Address real{};   // the real address bound (port 0 resolved)
  std::vector<AcceptQueue*> queues;
  size_t next = 0;        // round robin among the queues
  bool paused = false;    // every queue is full: the kernel's backlog holds peers
  bool closing = false;
  int open_handles = 0;
  uint64_t started_ms = 0;
  uv_poll_t poll{};
  uv_timer_t backoff{};  // accepting paused after EMFILE/ENFILE
};

// Takes ownership of `fd` (the app's stream, its Request read).
void inbound_listen_start(Daemon* d, int fd, PeerIdentity who, const wire::Request& request);

// A connection from `peer` to `dst` (the real listener, or for a connection
// joined in the daemon the virtual address, `joined` the client's app): the
// socket that takes it (one of the peer's family, with room if one has, in
// turn), the policy's `from`, a connection slot of the app; audited. Returns
// that socket, its slot taken, or nullptr when refused.
AcceptQueue* inbound_listener_admit(InboundListener* listener, const wire::Address& peer, const wire::Address& dst,
                                    const std::string& joined);

// A full queue has room again: accept more.
void inbound_listener_room(InboundListener* listener);

// `queue` is closing; the listener closes with its last queue.
void inbound_listener_detach(InboundListener* listener, AcceptQueue* queue);

}  // namespace netleash::netleashd
