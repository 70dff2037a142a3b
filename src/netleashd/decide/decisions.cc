#include "netleashd/decide/decisions.h"

#include <optional>

#include "netleashd/intake/admission.h"
#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {
namespace {

uint64_t now_seconds(const Daemon& d) { return uv_now(d.loop) / 1000; }

policy::Decision refuse(std::string reason) {
  policy::Decision decision;
  decision.reason = std::move(reason);
  return decision;
}

std::optional<policy::IpAddress> ip_of(const wire::Address& address) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (!to_sockaddr(address, &storage, &length)) return std::nullopt;
  const auto endpoint =
      policy::Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage), length);
  if (!endpoint) return std::nullopt;
  return endpoint->address;
}

const char* status_text(wire::ResolveStatus status) {
  switch (status) {
    case wire::ResolveStatus::kOk: return "resolved";
    case wire::ResolveStatus::kNoName: return "no such name";
    case wire::ResolveStatus::kNoData: return "no address of the requested family";
    case wire::ResolveStatus::kAgain: return "lookup failed temporarily";
    case wire::ResolveStatus::kFail: return "lookup failed";
  }
  return "lookup failed";
}

}  // namespace

policy::Decision decide_outbound(Daemon& d, const PeerIdentity& who,
                                 const wire::Address& destination, policy::Protocol protocol) {
  policy::Decision decision;
  const policy::AppPolicy* app = admitted_policy(d, who, &decision);
  if (app == nullptr) return decision;
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (!to_sockaddr(destination, &storage, &length)) return refuse("not an IP destination");
  const auto endpoint =
      policy::Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage), length);
  if (!endpoint) return refuse("not an IP destination");
  const std::vector<std::string> names =
      d.resolutions.names(who.app, endpoint->address, now_seconds(d));
  decision = policy::match_outbound(*app, *endpoint, protocol, names);
  // Tunnels carry TCP only: a UDP datagram a "via" rule allows must not go out directly.
  if (decision.allow && !decision.via.empty() && protocol == policy::Protocol::kUdp) {
    decision.allow = false;
    decision.reason = "rule " + std::to_string(*decision.rule) + " tunnels via \"" + decision.via +
                      "\", and tunnels carry TCP only";
  }
  return policy::apply_mode(*app, std::move(decision));
}

policy::Decision decide_resolve(Daemon& d, const PeerIdentity& who, const std::string& name) {
  policy::Decision decision;
  const policy::AppPolicy* app = admitted_policy(d, who, &decision);
  if (app == nullptr) return decision;
  if (!policy::may_resolve(*app, name))
    return policy::apply_mode(*app, refuse("no rule allows resolving this name"));
  decision.allow = true;
  decision.reason = app->resolve_any ? "\"resolve\": \"any\"" : "a host rule matches";
  return decision;
}

void record_resolution(Daemon& d, const PeerIdentity& who, const std::string& name,
                       const std::vector<wire::Address>& addresses, uint32_t ttl_s) {
  for (const auto& address : addresses)
    if (const auto ip = ip_of(address))
      d.resolutions.record(who.app, *ip, name, ttl_s, now_seconds(d));
}

void audit_decision(Daemon& d, const PeerIdentity& who, const char* op,
                    const wire::Address& destination, const policy::Decision& decision,
                    const std::string& joined) {
  AuditEvent event;
  event.op = op;
  describe_peer(who, &event);
  event.dst = format_endpoint(destination);
  event.host = decision.host;
  event.via = decision.via;
  event.joined = joined;
  event.allow = decision.allow;
  event.learned = decision.learned;
  event.rule = decision.rule;
  event.reason = decision.reason;
  d.audit->record(event);
}

void audit_icmp_refusal(Daemon& d, const PeerIdentity& who, uint16_t family) {
  AuditEvent event;
  event.op = "socket";
  describe_peer(who, &event);
  event.protocol = "icmp";
  event.reason = std::string(family == AF_INET6 ? "an ICMPv6" : "an ICMP") +
                 " socket (ping): netleash relays TCP and UDP only, no rule can allow it";
  d.audit->record(event);
}

void audit_resolve(Daemon& d, const PeerIdentity& who, const std::string& name,
                   const policy::Decision& decision) {
  AuditEvent event;
  event.op = "resolve";
  describe_peer(who, &event);
  event.host = name;
  event.allow = decision.allow;
  event.learned = decision.learned;
  event.rule = decision.rule;
  event.reason = decision.reason;
  d.audit->record(event);
}

void finish_lookup(Daemon& d, const PeerIdentity& who, const std::string& name, policy::Decision decision,
                   wire::ResolveStatus status, const std::vector<wire::Address>& answered, uint32_t ttl_s) {
  if (status == wire::ResolveStatus::kOk) record_resolution(d, who, name, answered, ttl_s);
  decision.reason = std::string(status_text(status)) + " (" + std::to_string(answered.size()) +
                    " addresses; " + decision.reason + ")";
  audit_resolve(d, who, name, decision);
}

}  // namespace netleash::netleashd
