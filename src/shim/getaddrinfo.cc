// getaddrinfo, freeaddrinfo and getnameinfo.
//
// Every list this getaddrinfo returns is one malloc block that starts with a
// tag derived from the first entry's address, so freeaddrinfo can tell its
// own lists from libc's (a program may still get one from libc, e.g. through
// a library that looked getaddrinfo up with dlsym) and free each correctly.
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shim/internal.h"
#include "shim/real.h"

using namespace netleash::shim;

namespace {

constexpr uintptr_t kListTag = 0x6e6c6169u;  // "nlai"
constexpr int kKnownFlags = AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_V4MAPPED | AI_ALL | AI_ADDRCONFIG |
                            AI_NUMERICSERV | AI_IDN | AI_CANONIDN;

struct ListHeader {
  uintptr_t tag;  // kListTag ^ address of the first addrinfo
  uintptr_t reserved;
};

struct Entry {
  addrinfo ai;
  sockaddr_in6 sa;  // large enough for either family
};

struct Kind {
  int socktype;
  int protocol;
  uint16_t port;  // network order
};

// Which (socktype, protocol, port) triples the answer has, as glibc does:
// one per socket type the service exists for. Returns 0 or an EAI_* code.
int service_kinds(const char* service, const addrinfo& hints, Kind* kinds, int* count) {
  static const Kind kAll[] = {{SOCK_STREAM, IPPROTO_TCP, 0}, {SOCK_DGRAM, IPPROTO_UDP, 0}, {SOCK_RAW, 0, 0}};
  *count = 0;
  for (const Kind& k : kAll) {
    if (hints.ai_socktype != 0 && hints.ai_socktype != k.socktype) continue;
    if (hints.ai_protocol != 0 && k.socktype != SOCK_RAW && hints.ai_protocol != k.protocol) continue;
    Kind chosen = k;
    if (k.socktype == SOCK_RAW) chosen.protocol = hints.ai_protocol;
    if (service != nullptr) {
      char* end;
      unsigned long port = strtoul(service, &end, 10);
      if (*service != '\0' && *end == '\0') {
        if (port > 65535) return EAI_SERVICE;
        chosen.port = htons(static_cast<uint16_t>(port));
      } else if (hints.ai_flags & AI_NUMERICSERV) {
        return EAI_NONAME;
      } else if (k.socktype == SOCK_RAW) {
        continue;  // a named service has no raw form
      } else {
        // /etc/services through NSS: a local file, no network.
        servent entry, *found = nullptr;
        char buf[1024];
        getservbyname_r(service, k.socktype == SOCK_STREAM ? "tcp" : "udp", &entry, buf, sizeof buf, &found);
        if (found == nullptr) continue;
        chosen.port = static_cast<uint16_t>(found->s_port);
      }
    }
    kinds[(*count)++] = chosen;
  }
  if (*count == 0) return service != nullptr ? EAI_SERVICE : EAI_SOCKTYPE;
  return 0;
}

// Builds the result list in one block. Returns 0 or EAI_MEMORY.
int build_list(const wire::Address* addrs, int naddrs, const Kind* kinds, int nkinds, const char* canon,
               addrinfo** res) {
  size_t entries = static_cast<size_t>(naddrs) * static_cast<size_t>(nkinds);
  size_t canon_len = canon != nullptr ? strlen(canon) + 1 : 0;
  char* block = static_cast<char*>(calloc(1, sizeof(ListHeader) + entries * sizeof(Entry) + canon_len));
  if (block == nullptr) return EAI_MEMORY;
  Entry* e = reinterpret_cast<Entry*>(block + sizeof(ListHeader));
  char* canon_copy = canon != nullptr ? reinterpret_cast<char*>(e + entries) : nullptr;
  if (canon_copy != nullptr) memcpy(canon_copy, canon, canon_len);
  size_t i = 0;
  for (int a = 0; a < naddrs; ++a) {
    for (int k = 0; k < nkinds; ++k, ++i) {
      wire::Address with_port = addrs[a];
      with_port.port = kinds[k].port;
      socklen_t len = sizeof e[i].sa;
      address_to_sockaddr(addrs[a].family, with_port, reinterpret_cast<sockaddr*>(&e[i].sa), &len);
      e[i].ai.ai_family = addrs[a].family;
      e[i].ai.ai_socktype = kinds[k].socktype;
      e[i].ai.ai_protocol = kinds[k].protocol;
      e[i].ai.ai_addrlen = len;
      e[i].ai.ai_addr = reinterpret_cast<sockaddr*>(&e[i].sa);
      e[i].ai.ai_canonname = i == 0 ? canon_copy : nullptr;
      e[i].ai.ai_next = i + 1 < entries ? &e[i + 1].ai : nullptr;
    }
  }
  reinterpret_cast<ListHeader*>(block)->tag = kListTag ^ reinterpret_cast<uintptr_t>(&e[0].ai);
  *res = &e[0].ai;
  return 0;
}

// Turns IPv4 answers into v4-mapped IPv6 ones (AI_V4MAPPED on AF_INET6).
void map_to_v6(wire::Address* a) {
  if (a->family != AF_INET) return;
  uint8_t v4[4];
  memcpy(v4, a->addr, 4);
  memset(a->addr, 0, sizeof a->addr);
  a->addr[10] = a->addr[11] = 0xff;
  memcpy(&a->addr[12], v4, 4);
  a->family = AF_INET6;
}

// Keeps the addresses the requested family wants, in order.
int select_family(wire::Address* addrs, int n, int family, int flags) {
  if (family == AF_UNSPEC) return n;
  int v6 = 0;
  for (int i = 0; i < n; ++i) v6 += addrs[i].family == AF_INET6;
  bool map = family == AF_INET6 && (flags & AI_V4MAPPED) && (v6 == 0 || (flags & AI_ALL));
  int kept = 0;
  for (int i = 0; i < n; ++i) {
    wire::Address a = addrs[i];
    if (map) map_to_v6(&a);
    if (a.family == family) addrs[kept++] = a;
  }
  return kept;
}

}  // namespace

NL_EXPORT int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints, struct addrinfo** res) {
  addrinfo h = {};
  h.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG;  // glibc's behaviour with NULL hints
  if (hints != nullptr) h = *hints;
  if (res == nullptr) return EAI_SYSTEM;
  if ((h.ai_flags & ~kKnownFlags) != 0) return EAI_BADFLAGS;
  if (node == nullptr && service == nullptr) return EAI_NONAME;
  if ((h.ai_flags & AI_CANONNAME) && node == nullptr) return EAI_BADFLAGS;
  if (h.ai_family != AF_UNSPEC && h.ai_family != AF_INET && h.ai_family != AF_INET6) return EAI_FAMILY;
  if (h.ai_socktype != 0 && h.ai_socktype != SOCK_STREAM && h.ai_socktype != SOCK_DGRAM && h.ai_socktype != SOCK_RAW)
    return EAI_SOCKTYPE;

  Kind kinds[3];
  int nkinds;
  if (int err = service_kinds(service, h, kinds, &nkinds)) return err;

  wire::ResolveReply reply;  // large (about 1 KiB): fine on the stack of a resolving thread
  wire::Address* addrs = reply.addrs;
  int naddrs = 0;
  const char* canon = nullptr;
  if (node == nullptr) {
    // No host: the wildcard (AI_PASSIVE) or loopback address of each family.
    static const int kFamilies[] = {AF_INET, AF_INET6};
    for (int fam : kFamilies) {
      if (h.ai_family != AF_UNSPEC && h.ai_family != fam) continue;
      wire::Address& a = addrs[naddrs++];
      memset(&a, 0, sizeof a);
      a.family = static_cast<uint16_t>(fam);
      if (!(h.ai_flags & AI_PASSIVE)) {
        if (fam == AF_INET) a.addr[0] = 127, a.addr[3] = 1;
        else a.addr[15] = 1;
      }
    }
  } else if (parse_numeric_host(node, &addrs[0])) {
    naddrs = select_family(addrs, 1, h.ai_family, h.ai_flags | AI_ALL);
    if (naddrs == 0) return EAI_ADDRFAMILY;
    canon = node;
  } else if (h.ai_flags & AI_NUMERICHOST) {
    return EAI_NONAME;
  } else {
    int ask_family = (h.ai_family == AF_INET6 && (h.ai_flags & AI_V4MAPPED)) ? AF_UNSPEC : h.ai_family;
    if (int err = daemon_resolve(node, ask_family, h.ai_socktype, h.ai_protocol, h.ai_flags, &reply)) return err;
    naddrs = select_family(addrs, reply.count, h.ai_family, h.ai_flags);
    if (naddrs == 0) return EAI_NODATA;
    canon = reply.canonical_name[0] != '\0' ? reply.canonical_name : node;
  }
  if (!(h.ai_flags & AI_CANONNAME)) canon = nullptr;
  return build_list(addrs, naddrs, kinds, nkinds, canon, res);
}

NL_EXPORT void freeaddrinfo(struct addrinfo* ai) noexcept {
  if (ai == nullptr) return;
  auto* header = reinterpret_cast<ListHeader*>(reinterpret_cast<char*>(ai) - sizeof(ListHeader));
  if (header->tag == (kListTag ^ reinterpret_cast<uintptr_t>(ai))) {
    header->tag = 0;
    free(header);
    return;
  }
  NL_REAL(freeaddrinfo)(ai);
}

NL_EXPORT int getnameinfo(const struct sockaddr* sa, socklen_t salen, char* host, socklen_t hostlen, char* serv,
                          socklen_t servlen, int flags) {
  // Reverse DNS would leave the process through libc's own sockets, out of
  // the daemon's sight: hosts are always answered numerically. Service
  // names come from /etc/services, a local file.
  if (host != nullptr && hostlen > 0 && (flags & NI_NAMEREQD)) return EAI_NONAME;
  return NL_REAL(getnameinfo)(sa, salen, host, hostlen, serv, servlen, flags | NI_NUMERICHOST);
}
