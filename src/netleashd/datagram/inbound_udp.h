// A UDP server: Op::kDatagramOpen with wire::kFlagBound. The daemon binds
// the inbound rule's `expose` address and relays datagrams from peers that
// `from` admits (others are dropped, audited once per peer) to the app,
// framed as in any association (DatagramHeader = the real source). The
// app's datagrams go out of that same socket: replies to admitted peers
// freely, anything else only if an outbound rule allows it. A bound address
// no inbound rule matches is a client's source port: udp_association.h.
#pragma once

#include "netleashd/intake/identity.h"
#include "common/wire.h"

namespace netleash::netleashd {

struct Daemon;

// Takes ownership of `fd` (the seqpacket connection, its Request read).
void inbound_udp_start(Daemon* d, int fd, PeerIdentity who, const wire::Request& request);

}  // namespace netleash::netleashd
