// The one-shot seqpacket queries: Op::kCheck (may I send there?),
// Op::kResolve (resolve a name the app's policy allows) and Op::kExplain (why
// was I refused? for the shim's NETLEASH_DEBUG output). One Request, one
// reply, close.
#pragma once

#include "netleashd/intake/identity.h"
#include "common/wire.h"

namespace netleash::netleashd {

struct Daemon;

// Both take ownership of `fd`.
void query_check(Daemon* daemon, int fd, const PeerIdentity& who, const wire::Request& request);
void query_resolve(Daemon* daemon, int fd, PeerIdentity who, const wire::Request& request);
void query_explain(Daemon* daemon, int fd, const PeerIdentity& who, const wire::Request& request);

}  // namespace netleash::netleashd
