// The data-path hooks. The fast path is one table lookup: an fd that is not
// a virtual socket, or is an established virtual TCP socket, goes straight
// to libc with no extra system call. Everything else (connecting, UDP,
// failed) goes to the slow path in io_slow.cc.
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "shim/internal.h"
#include "shim/real.h"

using namespace netleash::shim;

namespace {

ssize_t slow_write(VSocket* vs, int fd, const struct iovec* iov, int iovcnt) {
  struct msghdr msg = {};
  msg.msg_iov = const_cast<struct iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(iovcnt);
  return slow_sendmsg(vs, fd, &msg, 0);
}

ssize_t slow_read(VSocket* vs, int fd, const struct iovec* iov, int iovcnt, int flags, struct sockaddr* from,
                  socklen_t* fromlen) {
  struct msghdr msg = {};
  msg.msg_iov = const_cast<struct iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(iovcnt);
  msg.msg_name = from;
  msg.msg_namelen = fromlen != nullptr ? *fromlen : 0;
  ssize_t n = slow_recvmsg(vs, fd, &msg, flags);
  if (n >= 0 && fromlen != nullptr) *fromlen = msg.msg_namelen;
  return n;
}

bool any_name(const struct mmsghdr* vec, unsigned int vlen) {
  for (unsigned int i = 0; i < vlen; ++i)
    if (vec[i].msg_hdr.msg_name != nullptr) return true;
  return false;
}

// A connected TCP socket ignores a destination; the unix socket would refuse
// one with EISCONN, so drop it.
constexpr int kStreamSendIgnored = MSG_FASTOPEN;

}  // namespace

extern "C" void __chk_fail(void) __attribute__((noreturn));

NL_EXPORT ssize_t read(int fd, void* buf, size_t n) {
  VSocket* vs = fd_lookup(fd);
  if (!needs_slow_path(vs)) return NL_REAL(read)(fd, buf, n);
  struct iovec iov = {buf, n};
  return slow_read(vs, fd, &iov, 1, 0, nullptr, nullptr);
}

NL_EXPORT ssize_t __read_chk(int fd, void* buf, size_t n, size_t buflen) {
  if (n > buflen) __chk_fail();
  return read(fd, buf, n);
}

NL_EXPORT ssize_t readv(int fd, const struct iovec* iov, int iovcnt) {
  VSocket* vs = fd_lookup(fd);
  if (!needs_slow_path(vs)) return NL_REAL(readv)(fd, iov, iovcnt);
  return slow_read(vs, fd, iov, iovcnt, 0, nullptr, nullptr);
}

NL_EXPORT ssize_t write(int fd, const void* buf, size_t n) {
  VSocket* vs = fd_lookup(fd);
  if (!needs_slow_path(vs)) return NL_REAL(write)(fd, buf, n);
  struct iovec iov = {const_cast<void*>(buf), n};
  return slow_write(vs, fd, &iov, 1);
}

NL_EXPORT ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  VSocket* vs = fd_lookup(fd);
  if (!needs_slow_path(vs)) return NL_REAL(writev)(fd, iov, iovcnt);
  return slow_write(vs, fd, iov, iovcnt);
}

NL_EXPORT ssize_t send(int fd, const void* buf, size_t n, int flags) {
  VSocket* vs = fd_lookup(fd);
  if (vs == nullptr) return NL_REAL(send)(fd, buf, n, flags);
  if (!needs_slow_path(vs)) return NL_REAL(send)(fd, buf, n, flags & ~kStreamSendIgnored);
  struct iovec iov = {const_cast<void*>(buf), n};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  return slow_sendmsg(vs, fd, &msg, flags);
}

NL_EXPORT ssize_t sendto(int fd, const void* buf, size_t n, int flags, const struct sockaddr* to, socklen_t tolen) {
  VSocket* vs = fd_lookup(fd);
  if (vs == nullptr) return NL_REAL(sendto)(fd, buf, n, flags, to, tolen);
  if (!needs_slow_path(vs)) return NL_REAL(send)(fd, buf, n, flags & ~kStreamSendIgnored);
  struct iovec iov = {const_cast<void*>(buf), n};
  struct msghdr msg = {};
  msg.msg_name = const_cast<struct sockaddr*>(to);
  msg.msg_namelen = to != nullptr ? tolen : 0;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  return slow_sendmsg(vs, fd, &msg, flags);
}

NL_EXPORT ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
  VSocket* vs = fd_lookup(fd);
  if (vs == nullptr) return NL_REAL(sendmsg)(fd, msg, flags);
  if (!needs_slow_path(vs) && msg->msg_name == nullptr)
    return NL_REAL(sendmsg)(fd, msg, flags & ~kStreamSendIgnored);
  return slow_sendmsg(vs, fd, msg, flags);
}

NL_EXPORT int sendmmsg(int fd, struct mmsghdr* vec, unsigned int vlen, int flags) {
  VSocket* vs = fd_lookup(fd);
  if (vs == nullptr || (!needs_slow_path(vs) && !any_name(vec, vlen)))
    return NL_REAL(sendmmsg)(fd, vec, vlen, flags & ~kStreamSendIgnored);
  // Datagram by datagram, so that a denied destination stops the batch
  // before it is sent: the allowed prefix goes out, its count is returned.
  unsigned int i = 0;
  for (; i < vlen; ++i) {
    ssize_t n = sendmsg(fd, &vec[i].msg_hdr, flags);
    if (n < 0) {
      if (i == 0) return -1;
      break;
    }
    vec[i].msg_len = static_cast<unsigned int>(n);
  }
  return static_cast<int>(i);
}

NL_EXPORT ssize_t recv(int fd, void* buf, size_t n, int flags) {
  VSocket* vs = fd_lookup(fd);
  if (!needs_slow_path(vs)) return NL_REAL(recv)(fd, buf, n, flags);
  struct iovec iov = {buf, n};
  return slow_read(vs, fd, &iov, 1, flags, nullptr, nullptr);
}

NL_EXPORT ssize_t __recv_chk(int fd, void* buf, size_t n, size_t buflen, int flags) {
  if (n > buflen) __chk_fail();
  return recv(fd, buf, n, flags);
}

NL_EXPORT ssize_t recvfrom(int fd, void* buf, size_t n, int flags, struct sockaddr* from, socklen_t* fromlen) {
  VSocket* vs = fd_lookup(fd);
  if (vs == nullptr) return NL_REAL(recvfrom)(fd, buf, n, flags, from, fromlen);
  if (!needs_slow_path(vs)) {
    // TCP reports no source address; the unix socket would report its own.
    ssize_t r = NL_REAL(recv)(fd, buf, n, flags);
    if (r >= 0 && from != nullptr && fromlen != nullptr) *fromlen = 0;
    return r;
  }
  struct iovec iov = {buf, n};
  return slow_read(vs, fd, &iov, 1, flags, from, fromlen);
}

NL_EXPORT ssize_t __recvfrom_chk(int fd, void* buf, size_t n, size_t buflen, int flags, struct sockaddr* from,
                                 socklen_t* fromlen) {
  if (n > buflen) __chk_fail();
  return recvfrom(fd, buf, n, flags, from, fromlen);
}

NL_EXPORT ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  VSocket* vs = fd_lookup(fd);
  if (vs == nullptr || (!needs_slow_path(vs) && msg->msg_name == nullptr))
    return NL_REAL(recvmsg)(fd, msg, flags);
  return slow_recvmsg(vs, fd, msg, flags);
}

NL_EXPORT int recvmmsg(int fd, struct mmsghdr* vec, unsigned int vlen, int flags, struct timespec* timeout) {
  VSocket* vs = fd_lookup(fd);
  if (vs == nullptr || (!needs_slow_path(vs) && !any_name(vec, vlen)))
    return NL_REAL(recvmmsg)(fd, vec, vlen, flags, timeout);
  // One datagram at a time through recvmsg (which strips the framing and
  // fills the source). As the kernel does, after the first datagram wait no
  // more if MSG_WAITFORONE; the timeout is checked after each datagram.
  struct timespec deadline = {};
  if (timeout != nullptr) {
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout->tv_sec;
    deadline.tv_nsec += timeout->tv_nsec;
    if (deadline.tv_nsec >= 1000000000L) {
      deadline.tv_sec += 1;
      deadline.tv_nsec -= 1000000000L;
    }
  }
  unsigned int i = 0;
  for (; i < vlen; ++i) {
    int f = flags & ~MSG_WAITFORONE;
    if (i > 0 && (flags & MSG_WAITFORONE)) f |= MSG_DONTWAIT;
    ssize_t n = recvmsg(fd, &vec[i].msg_hdr, f);
    if (n < 0) {
      if (i == 0) return -1;
      break;
    }
    vec[i].msg_len = static_cast<unsigned int>(n);
    if (timeout != nullptr) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      if (now.tv_sec > deadline.tv_sec || (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)) {
        ++i;
        break;
      }
    }
  }
  return static_cast<int>(i);
}
