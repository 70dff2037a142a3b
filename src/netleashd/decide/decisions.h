// Policy decisions for a peer, and their audit lines. Everything that allows
// or refuses something on behalf of an app goes through here, so that every
// decision is checked the same way and audited exactly once.
#pragma once

#include <string>
#include <vector>

#include "netleashd/daemon.h"
#include "netleashd/policy/policy.h"
#include "common/wire.h"

namespace netleash::netleashd {

// The decision for `who` sending to / connecting to `destination` (already
// normalized). Host rules see the names the daemon resolved for this app.
// Not audited: the caller may still refuse (limits) and audits once.
policy::Decision decide_outbound(Daemon& d, const PeerIdentity& who,
                                 const wire::Address& destination, policy::Protocol protocol);

// May the daemon resolve `name` for `who`? Not audited (see audit_resolve).
policy::Decision decide_resolve(Daemon& d, const PeerIdentity& who, const std::string& name);

// Remembers that `name` resolved to `addresses` for `who`, for host rules.
void record_resolution(Daemon& d, const PeerIdentity& who, const std::string& name,
                       const std::vector<wire::Address>& addresses, uint32_t ttl_s);

// `joined`: the listener's app when the daemon joins the connection to a
// leashed listener (inbound_join) instead of connecting out.
void audit_decision(Daemon& d, const PeerIdentity& who, const char* op,
                    const wire::Address& destination, const policy::Decision& decision,
                    const std::string& joined = "");

// The shim refused an ICMP socket (ping) of `family`: no rule can allow one,
// as the daemon relays TCP and UDP only. One deny line, "protocol": "icmp".
void audit_icmp_refusal(Daemon& d, const PeerIdentity& who, uint16_t family);

void audit_resolve(Daemon& d, const PeerIdentity& who, const std::string& name,
                   const policy::Decision& decision);

// The end of an allowed lookup made for `who` (getaddrinfo through the shim,
// or a DNS query the daemon answers): the addresses handed to the app are
// recorded for host rules with `ttl_s`, and one audit line says how it went.
void finish_lookup(Daemon& d, const PeerIdentity& who, const std::string& name, policy::Decision decision,
                   wire::ResolveStatus status, const std::vector<wire::Address>& answered, uint32_t ttl_s);

}  // namespace netleash::netleashd
