// Inbound policy decisions (listen, and each peer of a listener) and their
// audit lines. Peers are always checked against the policy loaded *now*, so
// a reload that narrows `from` applies to listeners that already exist.
#pragma once

#include <optional>

#include "netleashd/daemon.h"
#include "netleashd/policy/policy.h"
#include "common/wire.h"

namespace netleash::netleashd {

// May `who` listen on (or, for UDP, bind) the virtual address `bound`? On
// allow, *rule is (a copy of) the matching inbound rule of the current
// policy; in learn mode without one, a rule exposing `bound` itself.
policy::Decision decide_listen(Daemon& d, const PeerIdentity& who, const wire::Address& bound,
                               policy::Protocol protocol, policy::InboundRule* rule);

// May `peer` reach the app's listener on `bound`?
policy::Decision decide_peer(Daemon& d, const PeerIdentity& who, const wire::Address& bound,
                             policy::Protocol protocol, const wire::Address& peer);

// One audit line: `op` is "listen" or "accept" (of `protocol`); `real` is the
// daemon's real address (dst), `bound` the app's virtual one (listen), `peer`
// the client (src, family 0: none); `joined` the client's app when the daemon
// joined a leashed client to the listener (inbound_join).
void audit_inbound(Daemon& d, const PeerIdentity& who, const char* op, policy::Protocol protocol,
                   const wire::Address& bound, const wire::Address& real, const wire::Address& peer,
                   const policy::Decision& decision, const std::string& joined = "");

// Conversions between the wire and policy views of an endpoint.
std::optional<policy::Endpoint> endpoint_of(const wire::Address& address);
wire::Address address_of(const policy::Endpoint& endpoint);

}  // namespace netleash::netleashd
