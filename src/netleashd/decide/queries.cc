#include "netleashd/decide/queries.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include "netleashd/daemon.h"
#include "netleashd/decide/decisions.h"
#include "netleashd/dns/answer.h"
#include "netleashd/decide/inbound_decisions.h"
#include "netleashd/dns/resolver.h"
#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {
namespace {

// Replies are small and the socket is fresh; a peer that cannot take one
// packet right now loses it rather than the loop waiting for it.
void send_packet(int fd, const void* data, size_t size) {
  send(fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL);
}

wire::ResolveReply make_resolve_reply(const ResolveResult& result, int family) {
  wire::ResolveReply reply{};
  reply.magic = wire::kMagic;
  reply.kind = static_cast<uint16_t>(wire::ReplyKind::kResolve);
  reply.status = static_cast<int32_t>(result.status);
  reply.ttl = result.ttl_s;
  std::strncpy(reply.canonical_name, result.canonical_name.c_str(), wire::kMaxHostName);
  for (const auto& address : result.addresses) {
    if (reply.count == wire::kMaxResolveAddresses) break;
    if (family != AF_UNSPEC && address.family != family) continue;
    reply.addrs[reply.count++] = address;
  }
  if (reply.status == static_cast<int32_t>(wire::ResolveStatus::kOk) && reply.count == 0)
    reply.status = static_cast<int32_t>(wire::ResolveStatus::kNoData);
  return reply;
}

policy::Protocol protocol_of(const wire::Request& request) {
  return request.protocol == static_cast<uint8_t>(wire::Protocol::kUdp) ? policy::Protocol::kUdp
                                                                          : policy::Protocol::kTcp;
}

// What connect or sendto to `destination` gets: DNS the daemon answers, or the rules.
policy::Decision decide_send(Daemon& d, const PeerIdentity& who, const wire::Address& destination,
                             policy::Protocol protocol) {
  return dns::daemon_answers(d, who, destination) ? dns::answered_here()
                                                   : decide_outbound(d, who, destination, protocol);
}

}  // namespace

void query_check(Daemon* d, int fd, const PeerIdentity& who, const wire::Request& request) {
  if (request.protocol == static_cast<uint8_t>(wire::Protocol::kIcmp)) {
    audit_icmp_refusal(*d, who, request.addr.family);
    const wire::Reply reply = make_reply(wire::ReplyKind::kResult, EACCES);
    send_packet(fd, &reply, sizeof reply);
    close(fd);
    return;
  }
  const wire::Address destination = normalize_address(request.addr);
  const auto protocol = protocol_of(request);
  const policy::Decision decision = decide_send(*d, who, destination, protocol);
  // kCheck precedes a sendto (UDP) or, for completeness, a connect (TCP).
  audit_decision(*d, who, protocol == policy::Protocol::kUdp ? "sendto" : "connect", destination,
                 decision);
  const wire::Reply reply = make_reply(wire::ReplyKind::kResult, decision.allow ? 0 : EACCES);
  send_packet(fd, &reply, sizeof reply);
  close(fd);
}

void query_resolve(Daemon* d, int fd, PeerIdentity who, const wire::Request& request) {
  const std::string name = request.name;  // NUL-terminated: validate_request checked
  const int family = request.hint_family;
  policy::Decision decision = decide_resolve(*d, who, name);
  if (!decision.allow) {
    audit_resolve(*d, who, name, decision);
    ResolveResult refused;
    refused.status = wire::ResolveStatus::kNoName;
    const wire::ResolveReply reply = make_resolve_reply(refused, family);
    send_packet(fd, &reply, sizeof reply);
    close(fd);
    return;
  }
  // The fd stays open until the answer comes; if the app gives up meanwhile,
  // the send fails harmlessly. A bounded resolver queue bounds these fds.
  d->resolver->resolve(name, family, [d, fd, who = std::move(who), name, family,
                                      decision](const ResolveResult& result) mutable {
    const wire::ResolveReply reply = make_resolve_reply(result, family);
    finish_lookup(*d, who, name, std::move(decision), static_cast<wire::ResolveStatus>(reply.status),
                  std::vector<wire::Address>(reply.addrs, reply.addrs + reply.count), result.ttl_s);
    send_packet(fd, &reply, sizeof reply);
    close(fd);
  });
}

void query_explain(Daemon* d, int fd, const PeerIdentity& who, const wire::Request& request) {
  policy::Decision decision;
  if (request.name[0] != '\0') {
    decision = decide_resolve(*d, who, request.name);  // NUL-terminated: validate_request checked
  } else if (request.flags & wire::kFlagListen) {
    policy::InboundRule rule;
    decision = decide_listen(*d, who, request.addr, protocol_of(request), &rule);
  } else {
    decision = decide_send(*d, who, normalize_address(request.addr), protocol_of(request));
  }
  wire::ReasonReply reply{};
  reply.magic = wire::kMagic;
  reply.kind = static_cast<uint16_t>(wire::ReplyKind::kReason);
  reply.allow = decision.allow ? 1 : 0;
  const size_t length = std::min(decision.reason.size(), wire::kMaxReason - 1);
  std::memcpy(reply.text, decision.reason.data(), length);
  reply.length = static_cast<uint16_t>(length);
  send_packet(fd, &reply, sizeof reply);
  close(fd);
}

}  // namespace netleash::netleashd
