#include "netleashd/dns/answer.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "netleashd/decide/decisions.h"
#include "netleashd/dns/message.h"
#include "netleashd/dns/resolver.h"

namespace netleash::netleashd::dns {
namespace {

std::string type_text(uint16_t type) {
  switch (type) {
    case kTypeA: return "A";
    case kTypeAaaa: return "AAAA";
    default: return "type " + std::to_string(type);
  }
}

Rcode rcode_of(wire::ResolveStatus status) {
  switch (status) {
    case wire::ResolveStatus::kOk:
    case wire::ResolveStatus::kNoData: return Rcode::kNoError;
    case wire::ResolveStatus::kNoName: return Rcode::kNxDomain;
    case wire::ResolveStatus::kAgain:
    case wire::ResolveStatus::kFail: return Rcode::kServFail;
  }
  return Rcode::kServFail;
}

// A malformed query is refused and audited like a refused name, so that a
// program probing the answerer shows up in the log.
void refuse_malformed(Daemon& d, const PeerIdentity& who, const Parsed& parsed, const ReplySink& reply) {
  policy::Decision decision;
  decision.reason = std::string("malformed DNS query: ") + parsed.problem;
  audit_resolve(d, who, parsed.query.name, decision);
  reply(build_header_reply(parsed.query, parsed.verdict == Verdict::kNotImp ? Rcode::kNotImp : Rcode::kFormErr));
}

void answer_lookup(Daemon& d, const PeerIdentity& who, const Query& query, size_t max_size,
                   policy::Decision decision, const ResolveResult& result, const ReplySink& reply) {
  const int family = query.type == kTypeA ? AF_INET : AF_INET6;
  std::vector<AddressData> data;
  std::vector<wire::Address> candidates;
  for (const wire::Address& address : result.addresses) {
    if (address.family != family) continue;
    AddressData record;
    record.length = family == AF_INET ? 4 : 16;
    std::memcpy(record.bytes, address.addr, record.length);
    data.push_back(record);
    candidates.push_back(address);
  }
  wire::ResolveStatus status = result.status;
  if (status == wire::ResolveStatus::kOk && data.empty()) status = wire::ResolveStatus::kNoData;
  size_t answered = 0;
  std::vector<uint8_t> message = build_reply(query, rcode_of(status), data, result.ttl_s, max_size, &answered);
  candidates.resize(answered);  // only what the app was told authorises connections
  decision.reason = type_text(query.type) + ", " + decision.reason;
  finish_lookup(d, who, query.name, std::move(decision), status, candidates, result.ttl_s);
  reply(std::move(message));
}

}  // namespace

bool daemon_answers(const Daemon& d, const PeerIdentity& who, const wire::Address& destination) {
  const std::vector<uint16_t>& ports = d.config.resolver.dns_ports;
  if (who.app.empty() || std::find(ports.begin(), ports.end(), ntohs(destination.port)) == ports.end())
    return false;
  const policy::AppPolicy* app = d.policies->find(who.app);
  return app != nullptr && !app->dns_direct;
}

policy::Decision answered_here() {
  policy::Decision decision;
  decision.allow = true;
  decision.reason = "DNS: netleashd answers the queries itself (the policy has no \"dns\": \"direct\")";
  return decision;
}

void answer_query(Daemon& d, const PeerIdentity& who, std::span<const uint8_t> message, bool tcp,
                  ReplySink reply) {
  const Parsed parsed = parse_query(message);
  if (parsed.verdict == Verdict::kDrop) {
    log_message("pid %d (%s): DNS message dropped unanswered: %s", static_cast<int>(who.pid), who.app.c_str(),
                parsed.problem);
    return reply({});
  }
  if (parsed.verdict != Verdict::kQuery) return refuse_malformed(d, who, parsed, reply);
  const Query& query = parsed.query;
  const size_t max_size = max_reply_size(query, tcp);
  size_t answered = 0;
  policy::Decision decision = decide_resolve(d, who, query.name);
  if (!decision.allow) {
    audit_resolve(d, who, query.name, decision);
    return reply(build_reply(query, Rcode::kNxDomain, {}, 0, max_size, &answered));
  }
  if (query.qclass != kClassIn || (query.type != kTypeA && query.type != kTypeAaaa)) {
    // Nothing but addresses is looked up for an app: an allowed name's other
    // records (MX, TXT, HTTPS...) exist for it as an empty answer.
    decision.reason = type_text(query.type) + " class " + std::to_string(query.qclass) +
                      ": answered with no records (" + decision.reason + ")";
    audit_resolve(d, who, query.name, decision);
    return reply(build_reply(query, Rcode::kNoError, {}, 0, max_size, &answered));
  }
  const int family = query.type == kTypeA ? AF_INET : AF_INET6;
  d.resolver->resolve(query.name, family,
                      [&d, who, query, max_size, decision, reply = std::move(reply)](const ResolveResult& result) {
                        answer_lookup(d, who, query, max_size, decision, result, reply);
                      });
}

void answer_datagram(Daemon& d, const PeerIdentity& who, const Liveness& alive, int fd,
                     const wire::Address& server, std::span<const uint8_t> query, uint64_t* bytes_received) {
  answer_query(d, who, query, false, [alive, fd, server, bytes_received](std::vector<uint8_t> reply) {
    if (!*alive || reply.empty()) return;  // the association closed while the name was being looked up
    wire::DatagramHeader header{server};
    iovec parts[2] = {{&header, sizeof header}, {reply.data(), reply.size()}};
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = 2;
    // Dropped, as any datagram, when the app's queue is full.
    if (sendmsg(fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL) > 0) *bytes_received += reply.size();
  });
}

}  // namespace netleash::netleashd::dns
