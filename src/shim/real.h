// Lazily resolved pointers to the next definition (libc's) of each function
// the shim interposes. Every call the shim itself makes to one of these goes
// through NL_REAL, never through the plain name: the plain name binds to the
// shim's own export and would recurse.
#pragma once

#include <stddef.h>

namespace netleash::shim {

#define NL_REAL_FUNCTIONS(X)                                                                   \
  X(socket) X(socketpair) X(connect) X(bind) X(listen) X(accept) X(accept4) X(shutdown)       \
  X(close) X(close_range) X(closefrom) X(dup) X(dup2) X(dup3) X(fcntl) X(fcntl64)             \
  X(getsockname) X(getpeername) X(getsockopt) X(setsockopt) X(send) X(sendto) X(sendmsg)      \
  X(sendmmsg) X(recv) X(recvfrom) X(recvmsg) X(recvmmsg) X(read) X(readv) X(write) X(writev)  \
  X(getaddrinfo) X(freeaddrinfo) X(getnameinfo) X(syscall) X(execve) X(execvpe) X(fexecve)         \
  X(posix_spawn) X(posix_spawnp)

enum RealId : int {
#define NL_REAL_ID(name) kReal_##name,
  NL_REAL_FUNCTIONS(NL_REAL_ID)
#undef NL_REAL_ID
  kRealCount
};

// Returns the next definition of `name` after the shim (dlsym RTLD_NEXT),
// cached after the first call, or nullptr if libc has none (close_range and
// closefrom on an older libc). Safe to call from any thread at any time.
void* real_symbol(RealId id, const char* name);

}  // namespace netleash::shim

#define NL_REAL(name) \
  (reinterpret_cast<decltype(&::name)>(::netleash::shim::real_symbol(::netleash::shim::kReal_##name, #name)))
