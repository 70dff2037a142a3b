// Decisions: outbound connections, name resolution, listens and inbound peers.
#include <algorithm>

#include "netleashd/policy/policy.h"
#include "netleashd/policy/policy_quote.h"

namespace netleash::policy {
namespace {

std::string describe(const Endpoint& endpoint, Protocol protocol) {
  return endpoint.to_string() + "/" + std::string(to_string(protocol));
}

// The first of `names` that `pattern` matches, or nullptr.
const std::string* matching_name(const HostPattern& pattern, std::span<const std::string> names) {
  const auto it = std::find_if(names.begin(), names.end(),
                               [&](const std::string& name) { return pattern.matches(name); });
  return it == names.end() ? nullptr : &*it;
}

Decision allow(std::size_t rule, std::string reason) {
  Decision decision;
  decision.allow = true;
  decision.rule = rule;
  decision.reason = std::move(reason);
  return decision;
}

Decision deny(std::string reason) {
  Decision decision;
  decision.reason = std::move(reason);
  return decision;
}

}  // namespace

std::string_view to_string(Protocol protocol) { return protocol == Protocol::kTcp ? "tcp" : "udp"; }

bool OutboundRule::covers(Protocol p) const {
  switch (protocol) {
    case ProtocolMatch::kAny: return true;
    case ProtocolMatch::kTcp: return p == Protocol::kTcp;
    case ProtocolMatch::kUdp: return p == Protocol::kUdp;
  }
  return false;
}

bool OutboundRule::covers_port(std::uint16_t port) const {
  return ports.empty() || std::any_of(ports.begin(), ports.end(),
                                      [&](const PortRange& range) { return range.contains(port); });
}

Decision no_policy(std::string_view app) {
  return deny("no policy for app " + quoted(app));
}

Decision match_outbound(const AppPolicy& policy, const Endpoint& destination, Protocol protocol,
                        std::span<const std::string> host_names) {
  for (std::size_t i = 0; i < policy.outbound.size(); ++i) {
    const OutboundRule& rule = policy.outbound[i];
    if (!rule.covers(protocol) || !rule.covers_port(destination.port)) continue;
    if (rule.cidr && rule.cidr->contains(destination.address)) {
      Decision decision = allow(i, "outbound rule " + std::to_string(i) + " (" +
                                       rule.cidr->to_string() + ") allows " +
                                       describe(destination, protocol));
      decision.via = rule.via;
      return decision;
    }
    if (rule.host) {
      if (const std::string* name = matching_name(*rule.host, host_names)) {
        Decision decision = allow(i, "outbound rule " + std::to_string(i) + " (" +
                                         rule.host->to_string() + ") allows " + *name + " " +
                                         describe(destination, protocol));
        decision.via = rule.via;
        decision.host = *name;
        return decision;
      }
    }
  }
  std::string what = describe(destination, protocol);
  if (host_names.empty()) return deny("no rule matches " + what);
  // The name stays on the denial's audit line too: netleashctl suggest writes host rules from it.
  Decision decision = deny("no rule matches " + host_names.front() + " " + what);
  decision.host = host_names.front();
  return decision;
}

Decision apply_mode(const AppPolicy& policy, Decision decision) {
  if (!policy.learn || decision.allow) return decision;
  decision.allow = true;
  decision.learned = true;
  decision.reason = "learn mode, would deny: " + decision.reason;
  return decision;
}

bool may_resolve(const AppPolicy& policy, std::string_view name) {
  if (!is_valid_host_name(name)) return false;
  if (policy.resolve_any) return true;
  return std::any_of(policy.outbound.begin(), policy.outbound.end(), [&](const OutboundRule& rule) {
    return rule.host && rule.host->matches(name);
  });
}

Decision match_listen(const AppPolicy& policy, const Endpoint& bound, Protocol protocol) {
  for (std::size_t i = 0; i < policy.inbound.size(); ++i) {
    const InboundRule& rule = policy.inbound[i];
    if (rule.protocol != protocol || rule.listen_port != bound.port) continue;
    const bool any_address = !rule.listen_address || rule.listen_address->is_unspecified() ||
                             bound.address.is_unspecified();
    if (any_address || *rule.listen_address == bound.address) {
      return allow(i, "inbound rule " + std::to_string(i) + " exposes " + describe(bound, protocol) +
                          " on " + rule.expose.to_string());
    }
  }
  return deny("no inbound rule for " + describe(bound, protocol));
}

Decision match_inbound_peer(const AppPolicy& policy, std::size_t rule, const IpAddress& peer) {
  if (rule >= policy.inbound.size()) {
    return deny("no inbound rule " + std::to_string(rule));
  }
  const InboundRule& inbound = policy.inbound[rule];
  const auto allowed = std::find_if(inbound.from.begin(), inbound.from.end(),
                                    [&](const Cidr& cidr) { return cidr.contains(peer); });
  if (inbound.from.empty() || allowed != inbound.from.end()) {
    Decision decision = allow(rule, "inbound rule " + std::to_string(rule) + " admits " + peer.to_string());
    return decision;
  }
  Decision decision = deny("inbound rule " + std::to_string(rule) + " does not admit " + peer.to_string());
  decision.rule = rule;
  return decision;
}

}  // namespace netleash::policy
