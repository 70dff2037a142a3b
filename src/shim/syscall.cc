// syscall(): programs (and some libraries) issue network system calls
// through it. The network numbers are routed to the same hooks as the libc
// functions, so the rules cannot be sidestepped this way; every other number
// is forwarded untouched with all six argument registers (a whitelist that
// refuses unknown numbers is what broke torsocks for many programs).
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <type_traits>  // header-only: no libstdc++ dependency

#include "shim/internal.h"
#include "shim/real.h"

using namespace netleash::shim;

namespace {

template <typename T>
T as(long v) {
  if constexpr (std::is_pointer_v<T>) return reinterpret_cast<T>(v);
  else return static_cast<T>(v);
}

}  // namespace

NL_EXPORT long syscall(long number, ...) noexcept {
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (long& v : a) v = va_arg(ap, long);
  va_end(ap);
  switch (number) {
    case SYS_socket: return socket(as<int>(a[0]), as<int>(a[1]), as<int>(a[2]));
    case SYS_socketpair: return socketpair(as<int>(a[0]), as<int>(a[1]), as<int>(a[2]), as<int*>(a[3]));
    case SYS_connect: return connect(as<int>(a[0]), as<const sockaddr*>(a[1]), as<socklen_t>(a[2]));
    case SYS_bind: return bind(as<int>(a[0]), as<const sockaddr*>(a[1]), as<socklen_t>(a[2]));
    case SYS_listen: return listen(as<int>(a[0]), as<int>(a[1]));
    case SYS_accept: return accept(as<int>(a[0]), as<sockaddr*>(a[1]), as<socklen_t*>(a[2]));
    case SYS_accept4: return accept4(as<int>(a[0]), as<sockaddr*>(a[1]), as<socklen_t*>(a[2]), as<int>(a[3]));
    case SYS_shutdown: return shutdown(as<int>(a[0]), as<int>(a[1]));
    case SYS_close: return close(as<int>(a[0]));
    case SYS_close_range: return close_range(as<unsigned>(a[0]), as<unsigned>(a[1]), as<int>(a[2]));
    case SYS_dup: return dup(as<int>(a[0]));
    case SYS_dup2: return dup2(as<int>(a[0]), as<int>(a[1]));
    case SYS_dup3: return dup3(as<int>(a[0]), as<int>(a[1]), as<int>(a[2]));
    case SYS_fcntl: return fcntl(as<int>(a[0]), as<int>(a[1]), as<void*>(a[2]));
    case SYS_getsockname: return getsockname(as<int>(a[0]), as<sockaddr*>(a[1]), as<socklen_t*>(a[2]));
    case SYS_getpeername: return getpeername(as<int>(a[0]), as<sockaddr*>(a[1]), as<socklen_t*>(a[2]));
    case SYS_getsockopt:
      return getsockopt(as<int>(a[0]), as<int>(a[1]), as<int>(a[2]), as<void*>(a[3]), as<socklen_t*>(a[4]));
    case SYS_setsockopt:
      return setsockopt(as<int>(a[0]), as<int>(a[1]), as<int>(a[2]), as<const void*>(a[3]), as<socklen_t>(a[4]));
    case SYS_sendto:
      return sendto(as<int>(a[0]), as<const void*>(a[1]), as<size_t>(a[2]), as<int>(a[3]), as<const sockaddr*>(a[4]),
                    as<socklen_t>(a[5]));
    case SYS_recvfrom:
      return recvfrom(as<int>(a[0]), as<void*>(a[1]), as<size_t>(a[2]), as<int>(a[3]), as<sockaddr*>(a[4]),
                      as<socklen_t*>(a[5]));
    case SYS_sendmsg: return sendmsg(as<int>(a[0]), as<const msghdr*>(a[1]), as<int>(a[2]));
    case SYS_recvmsg: return recvmsg(as<int>(a[0]), as<msghdr*>(a[1]), as<int>(a[2]));
    case SYS_sendmmsg: return sendmmsg(as<int>(a[0]), as<mmsghdr*>(a[1]), as<unsigned>(a[2]), as<int>(a[3]));
    case SYS_recvmmsg:
      return recvmmsg(as<int>(a[0]), as<mmsghdr*>(a[1]), as<unsigned>(a[2]), as<int>(a[3]), as<timespec*>(a[4]));
    default: return NL_REAL(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);
  }
}
