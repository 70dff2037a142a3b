// Data calls on a virtual socket that is not a plain established stream:
// a TCP socket still connecting (the first read/write reports the upstream
// outcome, never a silent EOF), one whose connect failed, or UDP.
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "shim/internal.h"
#include "shim/real.h"

namespace netleash::shim {
namespace {

// Finishes a pending connect before the first byte moves. Returns 0 to go
// on, or -1 with errno (EAGAIN, EINTR, or the upstream error).
int settle_connect(VSocket* vs, int fd, int flags) {
  bool wait = (flags & MSG_DONTWAIT) == 0 && !fd_is_nonblocking(fd);
  int r = tcp_finish_connect(vs, fd, wait);
  if (r > 0) return fail(r);
  return r;
}

// The unix stream socket must not see a destination address, and would
// report its own peer's address on receive.
ssize_t stream_sendmsg(int fd, const struct msghdr* msg, int flags) {
  struct msghdr plain = *msg;
  plain.msg_name = nullptr;
  plain.msg_namelen = 0;
  return NL_REAL(sendmsg)(fd, &plain, flags & ~MSG_FASTOPEN);
}

ssize_t stream_recvmsg(int fd, struct msghdr* msg, int flags) {
  struct msghdr plain = *msg;
  plain.msg_name = nullptr;
  plain.msg_namelen = 0;
  ssize_t n = NL_REAL(recvmsg)(fd, &plain, flags);
  if (n >= 0) {
    msg->msg_namelen = 0;
    msg->msg_controllen = plain.msg_controllen;
    msg->msg_flags = plain.msg_flags;
  }
  return n;
}

// The first read after this call took a padded connect's success Result.
// The daemon writes that Result together with the first upstream bytes, or
// just before it shuts the stream down when the upstream closed without
// sending: those are two system calls, and a reader woken by the first would
// see EAGAIN where TCP gives EOF. What follows the Result is on its way at
// once, so wait for it, boundedly, once.
ssize_t recv_after_result(int fd, struct msghdr* msg, int flags) {
  constexpr int kFollowMs = 1000;
  ssize_t n = stream_recvmsg(fd, msg, flags);
  if (n >= 0 || errno != EAGAIN) return n;
  pollfd p = {fd, POLLIN, 0};
  if (poll(&p, 1, kFollowMs) != 1) return fail(EAGAIN);
  return stream_recvmsg(fd, msg, flags);
}

}  // namespace

ssize_t slow_sendmsg(VSocket* vs, int fd, const struct msghdr* msg, int flags) {
  switch (load_state(vs)) {
    case State::kUdp:
      return udp_sendmsg(vs, fd, msg, flags);
    case State::kTcpFresh:
      // MSG_FASTOPEN: connect and send in one call, as the kernel does. A
      // non-blocking socket gets EINPROGRESS and sends nothing yet.
      if ((flags & MSG_FASTOPEN) != 0 && msg->msg_name != nullptr) {
        if (tcp_connect(vs, fd, static_cast<const sockaddr*>(msg->msg_name), msg->msg_namelen) != 0) return -1;
        return stream_sendmsg(fd, msg, flags);
      }
      return fail(ENOTCONN);
    case State::kTcpConnecting:
      if (settle_connect(vs, fd, flags) != 0) return -1;
      return stream_sendmsg(fd, msg, flags);
    default:
      return stream_sendmsg(fd, msg, flags);
  }
}

ssize_t slow_recvmsg(VSocket* vs, int fd, struct msghdr* msg, int flags) {
  switch (load_state(vs)) {
    case State::kUdp:
      return udp_recvmsg(vs, fd, msg, flags);
    case State::kTcpFresh:
      return fail(ENOTCONN);
    case State::kTcpClosed:
      // The failure was reported; from then on EOF, as on a failed TCP socket.
      // (The dead unix socket might still say ECONNRESET or EAGAIN.)
      return 0;
    case State::kTcpConnecting:
    case State::kTcpResultAhead:
      if (settle_connect(vs, fd, flags) != 0) return -1;
      if (load_state(vs) == State::kTcpResultAhead &&
          tcp_read_result_ahead(vs, fd, (flags & MSG_DONTWAIT) == 0 && !fd_is_nonblocking(fd)) != 0)
        return -1;
      if (vs->padded) return recv_after_result(fd, msg, flags);
      return stream_recvmsg(fd, msg, flags);
    default:
      return stream_recvmsg(fd, msg, flags);
  }
}

}  // namespace netleash::shim
