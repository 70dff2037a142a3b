// A virtual UDP socket (Op::kDatagramOpen on the seqpacket socket): one real
// UDP socket per association. Every datagram the app sends is checked against
// policy (the shim's kCheck is only a courtesy); datagrams come back only from
// peers the app has sent to, as through a NAT. Nothing is queued: a datagram
// that cannot be sent or delivered right now is dropped, as UDP may.
#pragma once

#include "netleashd/intake/identity.h"
#include "common/wire.h"

namespace netleash::netleashd {

struct Daemon;

// Takes ownership of `fd`, whose Request packet was read. A request with
// kFlagBound comes from inbound_udp_start (no inbound rule for the bound
// address), its `addr` cleared: the Result says kReplyClient.
void udp_association_start(Daemon* daemon, int fd, PeerIdentity who,
                           const wire::Request& request);

}  // namespace netleash::netleashd
