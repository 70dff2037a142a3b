// Calls that create, copy or destroy fd numbers: the table must follow them
// so a virtual socket stays managed under every number that refers to it.
// fcntl must be defined under its own name; with _FILE_OFFSET_BITS=64 the
// header would rename it to fcntl64, which is defined separately below.
#undef _FILE_OFFSET_BITS
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

#include "shim/internal.h"
#include "shim/real.h"

using namespace netleash::shim;

NL_EXPORT int close(int fd) {
  // Forget first: once the kernel closes the number, another thread may get
  // it back from socket() and install a new entry we must not erase.
  fd_forget(fd);
  return NL_REAL(close)(fd);
}

NL_EXPORT int close_range(unsigned int first, unsigned int last, int flags) noexcept {
  auto real = NL_REAL(close_range);
  if (real == nullptr) return fail(ENOSYS);
  int r = real(first, last, flags);
  // CLOSE_RANGE_CLOEXEC only marks the fds; they stay open.
  if (r == 0 && (flags & CLOSE_RANGE_CLOEXEC) == 0 && first <= last) fd_forget_range(first, last);
  return r;
}

NL_EXPORT void closefrom(int lowfd) noexcept {
  auto real = NL_REAL(closefrom);
  if (lowfd < 0) lowfd = 0;
  fd_forget_range(static_cast<unsigned>(lowfd), ~0u);
  if (real != nullptr) real(lowfd);
}

NL_EXPORT int dup(int fd) noexcept {
  int r = NL_REAL(dup)(fd);
  if (r >= 0) fd_copy(fd, r);
  return r;
}

NL_EXPORT int dup2(int from, int to) noexcept {
  int r = NL_REAL(dup2)(from, to);
  if (r >= 0 && from != to) fd_copy(from, to);
  return r;
}

NL_EXPORT int dup3(int from, int to, int flags) noexcept {
  int r = NL_REAL(dup3)(from, to, flags);
  if (r >= 0) fd_copy(from, to);
  return r;
}

namespace {

// fcntl's third argument is an int or a pointer depending on the command;
// like glibc, carry it as a pointer-sized value.
int fcntl_common(decltype(&::fcntl) real, int fd, int cmd, void* arg) {
  int r = real(fd, cmd, arg);
  if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)) fd_copy(fd, r);
  return r;
}

}  // namespace

NL_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return fcntl_common(NL_REAL(fcntl), fd, cmd, arg);
}

// With _FILE_OFFSET_BITS=64 (meson's default, for one) programs call fcntl64.
NL_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return fcntl_common(NL_REAL(fcntl64), fd, cmd, arg);
}
