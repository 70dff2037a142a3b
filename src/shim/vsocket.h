// A virtual socket: what the application believes is an Internet socket, and
// is really an AF_UNIX socket at the same fd number (SOCK_STREAM for TCP,
// SOCK_SEQPACKET for UDP) that talks to netleashd.
//
// One VSocket is shared by every fd that refers to the same open socket
// (dup, dup2, dup3, F_DUPFD): `refs` counts those fd table entries.
#pragma once

#include <stdint.h>

#include "common/wire.h"

namespace netleash::shim {

namespace wire = ::netleash::wire;

enum class State : uint32_t {
  kTcpFresh = 1,    // created, not connected (maybe bound)
  kTcpConnecting,   // daemon allowed it; upstream connect outcome not read yet
  kTcpEstablished,  // a plain byte stream: every call goes straight to libc
  kTcpResultAhead,  // established after a non-blocking connect; the daemon's success
                    // Result still comes ahead of the first byte and is stripped by the first read
  kTcpClosed,       // connect failed or was refused (reported); the unix fd is dead
  kUdp,             // datagram socket (association opened lazily)
  kListening,       // reserved for inbound support (listen/accept)
};

// What the shim is waiting for on a connecting TCP socket.
enum class Awaiting : uint32_t { kNothing = 0, kVerdict, kResult };

// Options that mean something for an Internet socket but that the unix socket
// cannot take; stored so getsockopt returns what the app set.
struct StoredOption {
  int level;
  int name;
  uint32_t length;  // 0: slot free
  uint8_t value[20];
};

// Per-socket cache of kCheck answers, so a UDP app sending many datagrams to
// one destination asks the daemon once.
struct CheckCacheEntry {
  wire::Address addr;
  int32_t error;  // 0 allowed, EACCES denied
  uint32_t used;
};

inline constexpr int kCheckCacheSize = 8;
inline constexpr int kStoredOptions = 8;

struct VSocket {
  // Managed by the pool and the fd table.
  uint32_t refs;
  uint32_t next_free;

  // Atomic: read on every call through an fd (the fast path).
  State state;

  int domain;    // AF_INET or AF_INET6
  int type;      // SOCK_STREAM or SOCK_DGRAM
  int protocol;  // IPPROTO_TCP or IPPROTO_UDP

  // Connect bookkeeping (TCP). `busy` is a try-lock, never waited on while
  // holding anything else, so fork and signals cannot deadlock on it.
  // Other fields are written on the slow path only; concurrent setsockopt
  // calls on one socket may race on them harmlessly (no pointers inside).
  uint32_t busy;
  Awaiting awaiting;
  uint32_t reply_have;
  uint8_t reply[sizeof(wire::Reply)];
  int saved_sndbuf;         // unix SO_SNDBUF before the padding trick, 0: none
  bool padded;              // this connect sent padding: success shows as writability
  bool connect_reported;    // a later connect() after EINPROGRESS returns 0 once

  // Addresses as the application sees them.
  bool bound;
  wire::Address local;
  wire::Address peer;  // family 0: not connected

  // Options for the daemon's real socket, plus the ones only stored.
  wire::SocketOptions options;
  int app_sndbuf;  // what the app asked for with SO_SNDBUF, 0: nothing
  StoredOption stored[kStoredOptions];

  // Inbound: InboundFlags (inbound.h).
  uint32_t inbound;

  // UDP.
  uint32_t udp_open;  // 0 none, 1 opening, 2 open
  uint32_t cache_lock;
  uint32_t cache_clock;
  CheckCacheEntry cache[kCheckCacheSize];
};

// --- state helpers ---------------------------------------------------------
// The generic __atomic forms: clang's _n forms take only integers and pointers, not enums.
inline State load_state(const VSocket* vs) {
  State s;
  __atomic_load(&vs->state, &s, __ATOMIC_ACQUIRE);
  return s;
}
inline void store_state(VSocket* vs, State s) { __atomic_store(&vs->state, &s, __ATOMIC_RELEASE); }
inline bool cas_state(VSocket* vs, State from, State to) {
  return __atomic_compare_exchange(&vs->state, &from, &to, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
inline bool try_lock(uint32_t* lock) {
  uint32_t expected = 0;
  return __atomic_compare_exchange_n(lock, &expected, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}
inline void unlock(uint32_t* lock) { __atomic_store_n(lock, 0, __ATOMIC_RELEASE); }

// --- pool (vsocket_pool.cc) -------------------------------------------------
// Objects are type-stable: memory is never returned to the system, so a thread
// that looked up an fd racing with a close() of it reads a stale object, never
// unmapped memory. Lock-free, so safe across fork.
VSocket* vsocket_new(int domain, int type, int protocol);
void vsocket_ref(VSocket* vs);
void vsocket_unref(VSocket* vs);

// --- fd table (fd_table.cc) ---------------------------------------------------
// Two-level table indexed by fd; pages are mmapped on demand and published
// atomically. Lookups take no lock and make no system call.
inline constexpr int kTablePageBits = 10;
inline constexpr int kTablePages = 4096;
inline constexpr int kTableMaxFd = kTablePages << kTablePageBits;

extern VSocket** g_fd_pages[kTablePages];

inline VSocket* fd_lookup(int fd) {
  if (static_cast<unsigned>(fd) >= static_cast<unsigned>(kTableMaxFd)) return nullptr;
  VSocket** page = __atomic_load_n(&g_fd_pages[fd >> kTablePageBits], __ATOMIC_ACQUIRE);
  if (page == nullptr) return nullptr;
  return __atomic_load_n(&page[fd & ((1 << kTablePageBits) - 1)], __ATOMIC_ACQUIRE);
}

// Install `vs` (already referenced for this entry) at `fd`; drops whatever
// stale entry was there. Returns false if fd is beyond the table.
bool fd_install(int fd, VSocket* vs);
// Forget `fd` (close, or a new non-virtual fd reused the number).
void fd_forget(int fd);
// Forget every fd in [first, last].
void fd_forget_range(unsigned first, unsigned last);
// fd `to` now refers to the same socket as `from` (dup family).
void fd_copy(int from, int to);

// True when a call on this fd must take the slow path: a virtual socket that
// is not (yet) a plain established byte stream.
inline bool needs_slow_path(VSocket* vs) { return vs != nullptr && load_state(vs) != State::kTcpEstablished; }

}  // namespace netleash::shim
