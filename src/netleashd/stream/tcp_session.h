// One virtual TCP connection (Op::kConnect on the stream socket): policy
// verdict, upstream connect, result, padding drain, relay, close audit line.
#pragma once

#include "netleashd/intake/identity.h"
#include "common/wire.h"

namespace netleash::netleashd {

struct Daemon;

// Takes ownership of `fd`, whose Request (and nothing after it) was read.
void tcp_session_start(Daemon* daemon, int fd, PeerIdentity who, const wire::Request& request);

// The errno the app sees for a failed upstream connect: libuv reports
// negated errno values; a connect we abandoned after the timeout is ETIMEDOUT.
int connect_errno(int uv_status, bool timed_out);

}  // namespace netleash::netleashd
