// Why a destination would be allowed or denied (netleashctl explain): the
// decision the matching functions make, and for a denial the rule that came
// nearest and what is missing. Pure: the daemon supplies the names and
// addresses it has recorded for the app.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "netleashd/policy/policy.h"

namespace netleash::policy {

// What the operator asks about: "host:port", "ip:port" or "[v6]:port",
// optionally prefixed "tcp/" or "udp/" (default tcp).
struct Target {
  std::string host;                  // a name; empty for an address
  std::optional<Endpoint> endpoint;  // an address
  std::uint16_t port = 0;
  Protocol protocol = Protocol::kTcp;
};

// nullopt with *error quoting the text when it is none of the forms above.
std::optional<Target> parse_target(std::string_view text, std::string* error);

struct Explanation {
  Decision decision;                   // what the daemon would decide now
  std::optional<std::size_t> nearest;  // denied: the rule that came closest
  std::string hint;                    // denied: what is missing, in a sentence
};

// A connection or datagram to an address; `names` are the names netleashd
// resolved for the app to it (ResolutionCache::names).
Explanation explain_address(const AppPolicy& policy, const Endpoint& destination, Protocol protocol,
                            std::span<const std::string> names);

// A connection or datagram to a name: allowed when a host rule matches it on
// that port and protocol (to the addresses netleashd resolves for the app).
Explanation explain_host(const AppPolicy& policy, std::string_view host, std::uint16_t port,
                         Protocol protocol);

// The rule as it would be written in the policy file (one line of JSON).
std::string rule_text(const OutboundRule& rule);

}  // namespace netleash::policy
