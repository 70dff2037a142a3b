// Audit lines and diagnostics of the encrypted links, in one place so that
// both ends describe a tunnelled connection the same way.
#pragma once

#include <string>

#include "netleashd/daemon.h"
#include "netleashd/policy/policy.h"

namespace netleash::netleashd {

// A tunnel connection refused before a peer was authenticated or before it
// asked for anything (unknown key, replayed first message, tampered record,
// timeout): op "tunnel", the remote address as src, and why.
void audit_tunnel_refusal(Daemon& d, const std::string& src, const std::string& peer,
                          const std::string& reason);

// The accepting host's decision on a peer's request: op "connect", the app
// id the peer reported, the destination, the tunnel's remote address as src.
void audit_tunnel_ingress(Daemon& d, const std::string& peer, const std::string& app,
                          const std::string& src, const std::string& dst,
                          const policy::Decision& decision);

}  // namespace netleash::netleashd
