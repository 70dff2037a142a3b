// One admitted inbound connection: the real TCP connection the daemon
// accepted, relayed to the app's end of a socketpair with the same Relay as
// outbound connections (backpressure, half-close), and a close audit line.
#pragma once

#include "netleashd/intake/identity.h"
#include "common/wire.h"

namespace netleash::netleashd {

struct Daemon;
struct AcceptQueue;

// Takes ownership of `tcp_fd` (accepted, non-blocking) and of a connection
// slot of who.app (released at the end). Hands the app its end through
// `queue`. Returns false when that failed; everything is closed then.
bool inbound_connection_start(Daemon* d, AcceptQueue* queue, int tcp_fd, const wire::Address& peer,
                              const wire::Address& real);

}  // namespace netleash::netleashd
