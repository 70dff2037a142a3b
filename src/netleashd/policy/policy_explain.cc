#include "netleashd/policy/policy_explain.h"

#include "netleashd/policy/policy_host.h"
#include "netleashd/policy/policy_quote.h"

namespace netleash::policy {
namespace {

std::string ports_text(const OutboundRule& rule) {
  if (rule.ports.empty()) return "every port";
  const bool one = rule.ports.size() == 1 && rule.ports.front().lo == rule.ports.front().hi;
  std::string text = one ? "port " : "ports ";
  for (std::size_t i = 0; i < rule.ports.size(); ++i)
    text += (i == 0 ? "" : ", ") + rule.ports[i].to_string();
  return text;
}

std::string protocol_text(const OutboundRule& rule) {
  switch (rule.protocol) {
    case ProtocolMatch::kTcp: return "tcp";
    case ProtocolMatch::kUdp: return "udp";
    case ProtocolMatch::kAny: return "any";
  }
  return "tcp";
}

std::string pattern_text(const OutboundRule& rule) {
  return rule.host ? rule.host->to_string() : rule.cidr->to_string();
}

// A rule that matches the destination's host or address, but not its port
// or protocol: the most likely slip. Fills the explanation's nearest and hint.
bool near_miss(const AppPolicy& policy, std::size_t i, std::string_view what, std::uint16_t port,
               Protocol protocol, Explanation* out) {
  const OutboundRule& rule = policy.outbound[i];
  std::string but;
  if (!rule.covers_port(port))
    but = "on " + ports_text(rule) + ", not " + std::to_string(port);
  else if (!rule.covers(protocol))
    but = "for " + protocol_text(rule) + ", not " + std::string(to_string(protocol));
  else
    return false;
  out->nearest = i;
  out->hint = "rule " + std::to_string(i) + " allows " + std::string(what) + " but " + but;
  return true;
}

// The first host rule (or rule of any kind) for this port and protocol.
std::optional<std::size_t> rule_for_port(const AppPolicy& policy, std::uint16_t port, Protocol protocol,
                                         bool host_rules_only) {
  for (std::size_t i = 0; i < policy.outbound.size(); ++i) {
    const OutboundRule& rule = policy.outbound[i];
    if ((!host_rules_only || rule.host) && rule.covers(protocol) && rule.covers_port(port)) return i;
  }
  return std::nullopt;
}

std::string describe(std::string_view what, std::uint16_t port, Protocol protocol) {
  return std::string(what) + " port " + std::to_string(port) + "/" + std::string(to_string(protocol));
}

}  // namespace

std::optional<Target> parse_target(std::string_view text, std::string* error) {
  Target target;
  std::string_view rest = text;
  if (rest.starts_with("udp/") || rest.starts_with("tcp/")) {
    target.protocol = rest.starts_with("udp/") ? Protocol::kUdp : Protocol::kTcp;
    rest.remove_prefix(4);
  }
  if (rest.starts_with('[') || IpAddress::parse(rest.substr(0, rest.rfind(':')))) {
    std::string why;
    target.endpoint = Endpoint::parse(rest, &why);
    if (!target.endpoint) {
      *error = "bad destination " + quoted(text) + ": " + why;
      return std::nullopt;
    }
    target.port = target.endpoint->port;
    return target;
  }
  const auto colon = rest.rfind(':');
  const auto port = colon == std::string_view::npos ? std::nullopt : parse_decimal(rest.substr(colon + 1), 65535);
  if (!port || *port == 0 || !is_valid_host_name(rest.substr(0, colon))) {
    *error = "bad destination " + quoted(text) + " (expected host:port, ip:port or [v6]:port, "
             "optionally after udp/ or tcp/)";
    return std::nullopt;
  }
  target.host = normalize_host_name(rest.substr(0, colon));
  target.port = static_cast<std::uint16_t>(*port);
  return target;
}

Explanation explain_address(const AppPolicy& policy, const Endpoint& destination, Protocol protocol,
                            std::span<const std::string> names) {
  Explanation out;
  out.decision = match_outbound(policy, destination, protocol, names);
  const std::string address = destination.address.to_string();
  if (!out.decision.allow) {
    for (std::size_t i = 0; i < policy.outbound.size() && !out.nearest; ++i) {
      const OutboundRule& rule = policy.outbound[i];
      if (rule.cidr && rule.cidr->contains(destination.address))
        near_miss(policy, i, rule.cidr->to_string(), destination.port, protocol, &out);
      for (const std::string& name : names)
        if (!out.nearest && rule.host && rule.host->matches(name))
          near_miss(policy, i, name, destination.port, protocol, &out);
    }
    const auto host_rule = rule_for_port(policy, destination.port, protocol, true);
    const std::string port = "port " + std::to_string(destination.port) + "/" + std::string(to_string(protocol));
    if (out.nearest) {
      // near_miss said it
    } else if (names.empty() && host_rule) {
      out.nearest = host_rule;
      out.hint = "a host rule for " + port + " exists (rule " + std::to_string(*host_rule) + ", " +
                 pattern_text(policy.outbound[*host_rule]) + "), but " + address +
                 " was never resolved for this app by netleashd: does the program resolve names itself "
                 "(its own DNS client, DNS over HTTPS, a hard-coded address)?";
    } else if (!names.empty()) {
      out.nearest = host_rule;
      out.hint = address + " was resolved for this app from " + names.front() +
                 ", but no rule allows that name on " + port;
    } else {
      out.hint = "no outbound rule covers " + describe(address, destination.port, protocol);
    }
  }
  out.decision = apply_mode(policy, std::move(out.decision));
  return out;
}

Explanation explain_host(const AppPolicy& policy, std::string_view host, std::uint16_t port,
                         Protocol protocol) {
  Explanation out;
  for (std::size_t i = 0; i < policy.outbound.size(); ++i) {
    const OutboundRule& rule = policy.outbound[i];
    if (rule.host && rule.host->matches(host) && rule.covers(protocol) && rule.covers_port(port)) {
      out.decision.allow = true;
      out.decision.rule = i;
      out.decision.host = std::string(host);
      out.decision.via = rule.via;
      out.decision.reason = "outbound rule " + std::to_string(i) + " (" + rule.host->to_string() +
                            ") allows " + describe(host, port, protocol) +
                            ", at the addresses netleashd resolves for the app";
      return out;
    }
  }
  out.decision.reason = "no rule matches " + describe(host, port, protocol);
  for (std::size_t i = 0; i < policy.outbound.size() && !out.nearest; ++i) {
    const OutboundRule& rule = policy.outbound[i];
    if (rule.host && rule.host->matches(host)) near_miss(policy, i, rule.host->to_string(), port, protocol, &out);
  }
  if (!out.nearest) {
    out.nearest = rule_for_port(policy, port, protocol, true);
    out.hint = "no host rule matches " + std::string(host);
    if (out.nearest)
      out.hint += " (rule " + std::to_string(*out.nearest) + " allows " +
                  pattern_text(policy.outbound[*out.nearest]) + " on that port)";
    if (!may_resolve(policy, host))
      out.hint += "; netleashd will not resolve it for this app (getaddrinfo fails: "
                  "\"Name or service not known\")";
  }
  out.decision = apply_mode(policy, std::move(out.decision));
  return out;
}

std::string rule_text(const OutboundRule& rule) {
  std::string text = "{";
  text += rule.host ? "\"host\": " + quoted(rule.host->to_string()) : "\"cidr\": " + quoted(rule.cidr->to_string());
  if (!rule.ports.empty()) {
    text += ", \"ports\": [";
    for (std::size_t i = 0; i < rule.ports.size(); ++i) {
      const PortRange& range = rule.ports[i];
      text += (i == 0 ? "" : ", ") + (range.lo == range.hi ? std::to_string(range.lo) : quoted(range.to_string()));
    }
    text += "]";
  }
  if (rule.protocol != ProtocolMatch::kTcp) text += ", \"protocol\": " + quoted(protocol_text(rule));
  if (!rule.via.empty()) text += ", \"via\": " + quoted(rule.via);
  return text + "}";
}

}  // namespace netleash::policy
