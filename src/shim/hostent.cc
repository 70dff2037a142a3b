// The gethostbyname family and gethostbyaddr, on the same resolution path
// as getaddrinfo. The non-reentrant forms use a per-thread buffer (glibc
// uses a static one; per-thread is at least as safe) and set h_errno.
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "shim/internal.h"

using namespace netleash::shim;

namespace {

constexpr size_t kThreadBuffer = 4096;

struct ThreadHostent {
  hostent entry;
  alignas(void*) char buffer[kThreadBuffer];
};

// initial-exec: the shim is always loaded at startup (DT_NEEDED), so its TLS
// sits in the static block and needs no __tls_get_addr from ld.so. Only a
// pointer lives there: the static block is sized once, and whatever the
// loader must fit in later (an audit module's setup, libraries dlopened with
// initial-exec TLS) shares a surplus of about a kilobyte.
__thread ThreadHostent* t_host __attribute__((tls_model("initial-exec")));

pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
pthread_key_t g_key;
bool g_key_ok = false;

void unmap_thread_hostent(void* block) { munmap(block, sizeof(ThreadHostent)); }

void create_key() { g_key_ok = pthread_key_create(&g_key, unmap_thread_hostent) == 0; }

// This thread's buffer, mapped at its first use and unmapped when it exits;
// nullptr when memory is short.
ThreadHostent* thread_hostent() {
  if (t_host != nullptr) return t_host;
  pthread_once(&g_key_once, create_key);
  if (!g_key_ok) return nullptr;
  void* block = mmap(nullptr, sizeof(ThreadHostent), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (block == MAP_FAILED) return nullptr;
  if (pthread_setspecific(g_key, block) != 0) {
    munmap(block, sizeof(ThreadHostent));
    return nullptr;
  }
  t_host = static_cast<ThreadHostent*>(block);
  return t_host;
}

// Lays out a hostent in `buf`: address list, empty alias list, addresses,
// name. Returns 0 or ERANGE.
int fill_hostent(const char* name, int af, const wire::Address* addrs, int n, hostent* ret, char* buf, size_t buflen) {
  size_t addr_len = af == AF_INET ? 4 : 16;
  uintptr_t base = reinterpret_cast<uintptr_t>(buf);
  uintptr_t aligned = (base + alignof(char*) - 1) & ~(static_cast<uintptr_t>(alignof(char*)) - 1);
  size_t name_len = strlen(name) + 1;
  size_t need = (aligned - base) + sizeof(char*) * (static_cast<size_t>(n) + 2) + addr_len * static_cast<size_t>(n) + name_len;
  if (need > buflen) return ERANGE;
  char** list = reinterpret_cast<char**>(aligned);
  char** aliases = list + n + 1;
  char* data = reinterpret_cast<char*>(aliases + 1);
  for (int i = 0; i < n; ++i) {
    list[i] = data;
    memcpy(data, addrs[i].addr, addr_len);
    data += addr_len;
  }
  list[n] = nullptr;
  aliases[0] = nullptr;
  memcpy(data, name, name_len);
  ret->h_name = data;
  ret->h_aliases = aliases;
  ret->h_addrtype = af;
  ret->h_length = static_cast<int>(addr_len);
  ret->h_addr_list = list;
  return 0;
}

int herror_for(int eai) {
  switch (eai) {
    case EAI_AGAIN: return TRY_AGAIN;
    case EAI_NODATA: return NO_DATA;
    case EAI_NONAME: return HOST_NOT_FOUND;
    default: return NO_RECOVERY;
  }
}

int lookup(const char* name, int af, hostent* ret, char* buf, size_t buflen, hostent** result, int* herr) {
  *result = nullptr;
  if (af != AF_INET && af != AF_INET6) {
    *herr = NETDB_INTERNAL;
    return EAFNOSUPPORT;
  }
  wire::ResolveReply reply;
  wire::Address* addrs = reply.addrs;
  int n = 0;
  const char* canon = name;
  if (name == nullptr) {
    *herr = HOST_NOT_FOUND;
    return ENOENT;
  }
  if (parse_numeric_host(name, &addrs[0])) {
    if (addrs[0].family != af) {
      *herr = HOST_NOT_FOUND;
      return ENOENT;
    }
    n = 1;
  } else {
    int eai = daemon_resolve(name, af, 0, 0, 0, &reply);
    if (eai == 0) {
      for (int i = 0; i < reply.count; ++i)
        if (addrs[i].family == af) addrs[n++] = addrs[i];
      if (n == 0) eai = EAI_NODATA;
      if (reply.canonical_name[0] != '\0') canon = reply.canonical_name;
    }
    if (eai != 0) {
      *herr = herror_for(eai);
      return *herr == TRY_AGAIN ? EAGAIN : ENOENT;
    }
  }
  if (int err = fill_hostent(canon, af, addrs, n, ret, buf, buflen)) {
    *herr = NETDB_INTERNAL;
    return err;
  }
  *herr = 0;
  *result = ret;
  return 0;
}

hostent* lookup_thread(const char* name, int af) {
  ThreadHostent* host = thread_hostent();
  if (host == nullptr) {
    h_errno = NETDB_INTERNAL;
    errno = ENOMEM;
    return nullptr;
  }
  hostent* result;
  int herr;
  lookup(name, af, &host->entry, host->buffer, sizeof host->buffer, &result, &herr);
  h_errno = herr;
  return result;
}

}  // namespace

NL_EXPORT int gethostbyname2_r(const char* name, int af, struct hostent* ret, char* buf, size_t buflen,
                               struct hostent** result, int* h_errnop) {
  int herr;
  int r = lookup(name, af, ret, buf, buflen, result, &herr);
  if (h_errnop != nullptr) *h_errnop = herr;
  return r;
}

NL_EXPORT int gethostbyname_r(const char* name, struct hostent* ret, char* buf, size_t buflen, struct hostent** result,
                              int* h_errnop) {
  return gethostbyname2_r(name, AF_INET, ret, buf, buflen, result, h_errnop);
}

NL_EXPORT struct hostent* gethostbyname2(const char* name, int af) { return lookup_thread(name, af); }

NL_EXPORT struct hostent* gethostbyname(const char* name) { return lookup_thread(name, AF_INET); }

NL_EXPORT struct hostent* gethostbyaddr(const void* addr, socklen_t len, int type) {
  // No reverse lookups (they would bypass the daemon): the name is the
  // address in text form, which is what getnameinfo with NI_NUMERICHOST gives.
  wire::Address a = {};
  char text[INET6_ADDRSTRLEN];
  if (addr == nullptr || (type != AF_INET && type != AF_INET6) ||
      len != static_cast<socklen_t>(type == AF_INET ? 4 : 16) || inet_ntop(type, addr, text, sizeof text) == nullptr) {
    h_errno = HOST_NOT_FOUND;
    return nullptr;
  }
  a.family = static_cast<uint16_t>(type);
  memcpy(a.addr, addr, len);
  ThreadHostent* host = thread_hostent();
  if (host == nullptr || fill_hostent(text, type, &a, 1, &host->entry, host->buffer, sizeof host->buffer) != 0) {
    h_errno = NETDB_INTERNAL;
    return nullptr;
  }
  h_errno = 0;
  return &host->entry;
}
