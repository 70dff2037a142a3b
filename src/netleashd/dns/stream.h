// DNS over TCP answered by the daemon (RFC 7766 framing: each message after a
// 2-byte big-endian length). tcp_session hands the answerer one end of a
// socketpair and relays the app's connection to the other, so the relay's
// padding, Result and backpressure work unchanged. Replies go out as their
// lookups finish (clients match them by id); at most kMaxQueriesInFlight
// lookups per connection run at once and at most 64 KiB of replies wait for
// the app; reading pauses beyond that, so a connection holds bounded memory.
#pragma once

#include <cstddef>

#include "netleashd/daemon.h"
#include "netleashd/intake/identity.h"

namespace netleash::netleashd::dns {

inline constexpr size_t kMaxQueriesInFlight = 16;

// Takes ownership of `fd` (non-blocking); ends at its EOF or error.
void serve_stream(Daemon& d, PeerIdentity who, int fd);

}  // namespace netleash::netleashd::dns
