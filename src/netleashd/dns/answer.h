// DNS answered by the daemon: a query a leashed program sends itself (UDP or
// TCP to port 53, whatever the server; "dns_ports" in the resolver config) is answered here under the app's
// policy and never leaves the host, unless the policy says "dns": "direct".
// Names no rule lets the daemon resolve get NXDOMAIN; allowed names of type
// A/AAAA are resolved by the daemon's resolver and recorded for host rules
// exactly as for getaddrinfo (decisions.h: finish_lookup). One audit line
// (op "resolve") per query.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "netleashd/daemon.h"
#include "netleashd/policy/policy.h"
#include "common/wire.h"

namespace netleash::netleashd::dns {

// Does the daemon answer what `who` sends to `destination` itself? True for
// port 53 (the config's "dns_ports") when the app has a policy without
// "dns": "direct". (No identity or
// no policy: false, and the ordinary decision refuses.)
bool daemon_answers(const Daemon& d, const PeerIdentity& who, const wire::Address& destination);

// The (audited) verdict for such a destination: allowed, because nothing
// reaches it; each query is decided on its own.
policy::Decision answered_here();

// Receives the reply message; an empty one for a message dropped unanswered
// (not even a header, or a response).
using ReplySink = std::function<void(std::vector<uint8_t> reply)>;

// Answers one DNS message; `reply` runs exactly once, maybe before this
// returns (cache hit, refusal) or later (a lookup). Whoever owns the app's
// socket must make sure `reply` notices when it has gone (see Liveness).
void answer_query(Daemon& d, const PeerIdentity& who, std::span<const uint8_t> message, bool tcp,
                  ReplySink reply);

// Set to false when the socket a pending reply would go to is closed.
using Liveness = std::shared_ptr<bool>;

// For the two UDP association kinds: answers the query datagram the app sent
// to `server` on its seqpacket association `fd` and sends the reply back on it
// as from `server`. `*bytes_received` (owned with fd) counts the reply.
void answer_datagram(Daemon& d, const PeerIdentity& who, const Liveness& alive, int fd,
                     const wire::Address& server, std::span<const uint8_t> query, uint64_t* bytes_received);

}  // namespace netleash::netleashd::dns
