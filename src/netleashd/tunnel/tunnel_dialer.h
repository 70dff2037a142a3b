// The dialling end of a tunnel: an app's connect that an outbound rule sends
// "via" a peer. Verdict at once (policy, peer known, limits), then a TCP
// connection to the peer's tunnel listener, the handshake, the destination
// request, and the peer's result passed to the app as the connect's Result
// (so the app sees the real errno: ECONNREFUSED, EACCES, ETIMEDOUT, ...);
// then the relay between the app's stream and the tunnel.
#pragma once

#include "netleashd/intake/identity.h"
#include "netleashd/policy/policy.h"
#include "common/wire.h"

namespace netleash::netleashd {

struct Daemon;

// Takes ownership of `fd`, whose Request was read; `decision` allowed the
// connection with a non-empty `via`. Audits the decision.
void tunnel_dial_start(Daemon* d, int fd, PeerIdentity who, const wire::Request& request,
                       policy::Decision decision);

}  // namespace netleash::netleashd
