#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shim/internal.h"

namespace netleash::shim {

int address_from_sockaddr(int domain, const struct sockaddr* sa, socklen_t len, wire::Address* out) {
  if (sa == nullptr) return EFAULT;
  if (len < static_cast<socklen_t>(sizeof(sa_family_t))) return EINVAL;
  memset(out, 0, sizeof *out);
  if (sa->sa_family != domain) return EAFNOSUPPORT;
  if (domain == AF_INET) {
    if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) return EINVAL;
    sockaddr_in sin;
    memcpy(&sin, sa, sizeof sin);
    out->family = AF_INET;
    out->port = sin.sin_port;
    memcpy(out->addr, &sin.sin_addr, 4);
    return 0;
  }
  // The kernel accepts the 24-byte RFC 2133 sockaddr_in6 without scope id.
  constexpr socklen_t kRfc2133Length = 24;
  if (len < kRfc2133Length) return EINVAL;
  sockaddr_in6 sin6;
  memset(&sin6, 0, sizeof sin6);
  memcpy(&sin6, sa, len < sizeof sin6 ? len : sizeof sin6);
  out->family = AF_INET6;
  out->port = sin6.sin6_port;
  out->scope_id = sin6.sin6_scope_id;
  memcpy(out->addr, &sin6.sin6_addr, 16);
  return 0;
}

void address_to_sockaddr(int domain, const wire::Address& addr, struct sockaddr* sa, socklen_t* len) {
  sockaddr_storage full;
  memset(&full, 0, sizeof full);
  socklen_t full_len;
  if (domain == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&full);
    sin->sin_family = AF_INET;
    sin->sin_port = addr.port;
    if (addr.family == AF_INET) memcpy(&sin->sin_addr, addr.addr, 4);
    full_len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&full);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = addr.port;
    if (addr.family == AF_INET6) {
      memcpy(&sin6->sin6_addr, addr.addr, 16);
      sin6->sin6_scope_id = addr.scope_id;
    } else if (addr.family == AF_INET) {
      sin6->sin6_addr.s6_addr[10] = 0xff;  // ::ffff:a.b.c.d
      sin6->sin6_addr.s6_addr[11] = 0xff;
      memcpy(&sin6->sin6_addr.s6_addr[12], addr.addr, 4);
    }
    full_len = sizeof(sockaddr_in6);
  }
  if (sa != nullptr && len != nullptr) memcpy(sa, &full, *len < full_len ? *len : full_len);
  if (len != nullptr) *len = full_len;
}

bool address_equal(const wire::Address& a, const wire::Address& b) {
  if (a.family != b.family || a.port != b.port) return false;
  return memcmp(a.addr, b.addr, a.family == AF_INET ? 4 : 16) == 0;
}

namespace {

const uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_unspecified(const wire::Address& a) {
  static const uint8_t kZero[16] = {};
  return memcmp(a.addr, kZero, a.family == AF_INET ? 4 : 16) == 0;
}

// 127.0.0.0/8 (also v4-mapped) or ::1; *v4 says which.
bool is_loopback(const wire::Address& a, bool* v4) {
  static const uint8_t kLoopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  *v4 = a.family == AF_INET || (a.family == AF_INET6 && memcmp(a.addr, kMappedPrefix, 12) == 0);
  if (a.family == AF_INET) return a.addr[0] == 127;
  if (*v4) return a.addr[12] == 127;
  return a.family == AF_INET6 && memcmp(a.addr, kLoopback6, 16) == 0;
}

}  // namespace

wire::Address connection_local(int domain, wire::Address local, const wire::Address& peer) {
  bool v4 = false;
  if (!is_unspecified(local) || !is_loopback(peer, &v4)) return local;
  memset(local.addr, 0, sizeof local.addr);
  local.scope_id = 0;
  if (v4 && domain == AF_INET6) {
    memcpy(local.addr, kMappedPrefix, 12);  // ::ffff:127.0.0.1, as a dual-stack socket says
    local.addr[12] = 127, local.addr[15] = 1;
  } else if (v4) {
    local.addr[0] = 127, local.addr[3] = 1;
  } else {
    local.addr[15] = 1;
  }
  return local;
}

uint16_t ephemeral_port() {
  // Only cosmetic (the real local port is the daemon's): a cheap mix of a
  // counter, the pid and the clock, spread over Linux's default 32768-60999.
  static uint32_t counter;
  uint32_t x = __atomic_add_fetch(&counter, 0x9e3779b9u, __ATOMIC_RELAXED);
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  x ^= static_cast<uint32_t>(getpid()) * 2654435761u ^ static_cast<uint32_t>(now.tv_nsec);
  x ^= x >> 15;
  x *= 0x2c1b3c6du;
  x ^= x >> 12;
  return htons(static_cast<uint16_t>(32768 + x % (60999 - 32768 + 1)));
}

}  // namespace netleash::shim
