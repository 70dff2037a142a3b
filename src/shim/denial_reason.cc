// NETLEASH_DEBUG=1 only: after the daemon refused an operation, ask it why
// (Op::kExplain) and print its reason next to the errno. Nothing here runs
// unless debugging is on and something was denied, so allowed operations pay
// nothing for it, and the replies to the app keep their fixed 16 bytes.
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "shim/internal.h"

namespace netleash::shim {
namespace {

constexpr int kExplainTimeoutMs = 2000;

void format_address(const wire::Address& addr, char* out, size_t size) {
  char host[INET6_ADDRSTRLEN] = "?";
  const bool v6 = addr.family == AF_INET6;
  inet_ntop(v6 ? AF_INET6 : AF_INET, addr.addr, host, sizeof host);
  snprintf(out, size, v6 ? "[%s]:%u" : "%s:%u", host, static_cast<unsigned>(ntohs(addr.port)));
}

// The daemon's reason for `request`, or false when it gave none.
bool ask_reason(const wire::Request& request, wire::ReasonReply* reply) {
  const ssize_t n = daemon_ask(request, reply, sizeof *reply, kExplainTimeoutMs);
  if (n != static_cast<ssize_t>(sizeof *reply) || reply->magic != wire::kMagic ||
      reply->kind != static_cast<uint16_t>(wire::ReplyKind::kReason))
    return false;
  reply->text[wire::kMaxReason - 1] = '\0';
  return true;
}

}  // namespace

void debug_denied_address(const char* op, const wire::Address& addr, bool udp, bool listen) {
  if (!debug_enabled()) return;
  const int saved = errno;
  wire::Request request = make_request(wire::Op::kExplain);
  request.addr = addr;
  request.protocol = static_cast<uint8_t>(udp ? wire::Protocol::kUdp : wire::Protocol::kTcp);
  if (listen) request.flags = wire::kFlagListen;
  char address[64];
  format_address(addr, address, sizeof address);
  wire::ReasonReply reply;
  if (!ask_reason(request, &reply))
    debug("%s %s%s denied (the daemon did not say why)", op, udp ? "udp/" : "", address);
  else  // "would allow now": the policy changed since, or a limit refused it, not a rule
    debug("%s %s%s denied: %s%s", op, udp ? "udp/" : "", address, reply.text,
          reply.allow ? " (the daemon would allow it now)" : "");
  errno = saved;
}

void debug_denied_name(const char* name) {
  if (!debug_enabled()) return;
  const int saved = errno;
  wire::Request request = make_request(wire::Op::kExplain);
  const size_t n = strnlen(name, wire::kMaxHostName + 1);
  if (n == 0 || n > wire::kMaxHostName) return;
  memcpy(request.name, name, n + 1);
  wire::ReasonReply reply;
  if (!ask_reason(request, &reply))
    debug("resolve %s failed (the daemon did not say why)", name);
  else if (reply.allow)  // allowed, so the lookup itself found nothing
    debug("resolve %s: no such name (the policy allows resolving it: %s)", name, reply.text);
  else
    debug("resolve %s denied: %s", name, reply.text);
  errno = saved;
}

}  // namespace netleash::shim
