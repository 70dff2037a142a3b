// Inbound (servers): bind records the virtual address, listen asks the daemon
// to listen on the rule's real `expose` address, accept takes one
// AcceptRecord and its fd from the listening socket's daemon stream. A UDP
// server's bind opens a bound association. See docs/protocol.md, "Inbound",
// and README.md in this directory.
#pragma once

#include <sys/socket.h>

#include "shim/vsocket.h"

namespace netleash::shim {

// Bits of VSocket::inbound.
enum InboundFlags : uint32_t {
  // bind asked for port 0: the virtual port is invented, and the daemon looks
  // the inbound rule up with port 0 (a rule whose listen port is 0).
  kInboundAnyPort = 1u << 0,
  // A UDP socket whose association is bound (kFlagBound): the daemon filters
  // its peers with the rule's `from` and checks its replies itself. Cleared
  // when the daemon answers kReplyClient (no inbound rule: a client).
  kInboundBoundUdp = 1u << 1,
};

// bind() on a virtual socket, after the address was validated and recorded:
// notes a port-0 request and, for UDP with a fixed port, opens the bound
// association now. Returns 0 or -1 with errno (the bind is then undone).
int inbound_bind(VSocket* vs, int fd, bool any_port);

// listen() on a virtual TCP socket.
int inbound_listen(VSocket* vs, int fd, int backlog);

// accept()/accept4() on a virtual socket.
int inbound_accept(VSocket* vs, int fd, struct sockaddr* sa, socklen_t* len, int flags);

// The address the daemon matches inbound rules against: the virtual one,
// with port 0 when the app bound port 0.
wire::Address inbound_rule_address(const VSocket* vs);

}  // namespace netleash::shim
