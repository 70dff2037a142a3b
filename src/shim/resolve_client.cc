// The shared core of getaddrinfo and the gethostbyname family: numeric hosts
// are parsed here and never leave the process; names go to the daemon
// (kResolve), which answers only for names the app's policy allows and
// remembers the answer so a later connect matches the host rule.
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "shim/internal.h"

namespace netleash::shim {
namespace {

// The daemon may have to ask upstream DNS servers (with their retries).
constexpr int kResolveTimeoutMs = 30000;

}  // namespace

bool parse_numeric_host(const char* node, wire::Address* out) {
  memset(out, 0, sizeof *out);
  in_addr v4;
  if (inet_aton(node, &v4) != 0) {  // also "127.1", "0x7f.1", as glibc's getaddrinfo accepts
    out->family = AF_INET;
    memcpy(out->addr, &v4, 4);
    return true;
  }
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  size_t n = strlen(node);
  if (n >= sizeof text) return false;
  memcpy(text, node, n + 1);
  char* scope = strchr(text, '%');
  if (scope != nullptr) *scope++ = '\0';
  in6_addr v6;
  if (inet_pton(AF_INET6, text, &v6) != 1) return false;
  out->family = AF_INET6;
  memcpy(out->addr, &v6, 16);
  if (scope != nullptr) {
    char* end;
    unsigned long id = strtoul(scope, &end, 10);
    if (*scope == '\0' || *end != '\0') id = if_nametoindex(scope);
    if (id == 0) return false;
    out->scope_id = static_cast<uint32_t>(id);
  }
  return true;
}

int daemon_resolve(const char* name, int family, int socktype, int protocol, int flags, wire::ResolveReply* out) {
  size_t n = strlen(name);
  if (n == 0 || n > wire::kMaxHostName) return EAI_NONAME;
  wire::Request request = make_request(wire::Op::kResolve);
  memcpy(request.name, name, n + 1);
  request.hint_family = family;
  request.hint_socktype = socktype;
  request.hint_protocol = protocol;
  request.hint_flags = flags;
  ssize_t got = daemon_ask(request, out, sizeof *out, kResolveTimeoutMs);
  if (got < 0) {
    debug("resolve %s: daemon unreachable", name);
    return EAI_AGAIN;
  }
  constexpr size_t kFixed = offsetof(wire::ResolveReply, addrs);
  if (static_cast<size_t>(got) < kFixed || out->magic != wire::kMagic ||
      out->kind != static_cast<uint16_t>(wire::ReplyKind::kResolve) || out->count > wire::kMaxResolveAddresses ||
      static_cast<size_t>(got) < kFixed + out->count * sizeof(wire::Address))
    return EAI_FAIL;
  out->canonical_name[wire::kMaxHostName] = '\0';
  switch (static_cast<wire::ResolveStatus>(out->status)) {
    case wire::ResolveStatus::kOk: break;
    case wire::ResolveStatus::kNoName:
      debug_denied_name(name);  // refused by the policy, or no such name: the daemon says which
      return EAI_NONAME;
    case wire::ResolveStatus::kAgain: return EAI_AGAIN;
    case wire::ResolveStatus::kNoData: return EAI_NODATA;
    default: return EAI_FAIL;
  }
  // Keep only well-formed entries, in order.
  uint16_t kept = 0;
  for (uint16_t i = 0; i < out->count; ++i) {
    const wire::Address& a = out->addrs[i];
    if (a.family == AF_INET || a.family == AF_INET6) out->addrs[kept++] = a;
  }
  out->count = kept;
  return kept == 0 ? EAI_NODATA : 0;
}

}  // namespace netleash::shim
