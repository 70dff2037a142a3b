#include "netleashd/decide/inbound_decisions.h"

#include "netleashd/intake/admission.h"
#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {
namespace {

policy::Decision refuse(std::string reason) {
  policy::Decision decision;
  decision.reason = std::move(reason);
  return decision;
}

}  // namespace

std::optional<policy::Endpoint> endpoint_of(const wire::Address& address) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (!to_sockaddr(normalize_address(address), &storage, &length)) return std::nullopt;
  return policy::Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage), length);
}

wire::Address address_of(const policy::Endpoint& endpoint) {
  sockaddr_storage storage{};
  endpoint.to_sockaddr(&storage);
  return from_sockaddr(reinterpret_cast<const sockaddr*>(&storage));
}

policy::Decision decide_listen(Daemon& d, const PeerIdentity& who, const wire::Address& bound,
                               policy::Protocol protocol, policy::InboundRule* rule) {
  policy::Decision decision;
  const policy::AppPolicy* app = admitted_policy(d, who, &decision);
  if (app == nullptr) return decision;
  const auto endpoint = endpoint_of(bound);
  if (!endpoint) return refuse("not an IP address");
  decision = policy::apply_mode(*app, policy::match_listen(*app, *endpoint, protocol));
  if (decision.learned) {
    // No rule says where to expose it: where the program itself would have listened.
    *rule = policy::InboundRule{};
    rule->listen_address = endpoint->address;
    rule->listen_port = endpoint->port;
    rule->expose = *endpoint;
    rule->protocol = protocol;
  } else if (decision.allow && decision.rule) {
    *rule = app->inbound[*decision.rule];
  }
  return decision;
}

policy::Decision decide_peer(Daemon& d, const PeerIdentity& who, const wire::Address& bound,
                             policy::Protocol protocol, const wire::Address& peer) {
  policy::InboundRule rule;
  policy::Decision listen = decide_listen(d, who, bound, protocol, &rule);
  if (listen.learned) {
    listen.reason = "learn mode, would deny: no inbound rule for the listener";
    return listen;
  }
  if (!listen.allow || !listen.rule) {
    listen.allow = false;
    listen.reason = "the listener's inbound rule is gone: " + listen.reason;
    return listen;
  }
  const auto endpoint = endpoint_of(peer);
  if (!endpoint) return refuse("peer is not an IP address");
  const policy::AppPolicy& app = *d.policies->find(who.app);
  return policy::apply_mode(app, policy::match_inbound_peer(app, *listen.rule, endpoint->address));
}

void audit_inbound(Daemon& d, const PeerIdentity& who, const char* op, policy::Protocol protocol,
                   const wire::Address& bound, const wire::Address& real, const wire::Address& peer,
                   const policy::Decision& decision, const std::string& joined) {
  AuditEvent event;
  event.op = op;
  describe_peer(who, &event);
  event.dst = format_endpoint(real);
  event.src = format_endpoint(normalize_address(peer));
  event.listen = format_endpoint(bound);
  event.protocol = protocol == policy::Protocol::kUdp ? "udp" : "tcp";
  event.joined = joined;
  event.allow = decision.allow;
  event.learned = decision.learned;
  event.rule = decision.rule;
  event.reason = decision.reason;
  d.audit->record(event);
}

}  // namespace netleash::netleashd
