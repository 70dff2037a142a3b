// accept()/accept4() on a listening virtual socket: one recvmsg of exactly
// one AcceptRecord takes one connection and its fd. The kernel ends a stream
// read at a message that carries fds and serialises readers, so processes
// sharing the listening fd (pre-forked servers) each get whole connections.
// Blocking, O_NONBLOCK (EAGAIN), SO_RCVTIMEO and EINTR come from that read.
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "shim/inbound.h"
#include "shim/internal.h"
#include "shim/real.h"

namespace netleash::shim {
namespace {

// Takes the fd out of a received SCM_RIGHTS message, or -1.
int received_fd(struct msghdr* msg) {
  for (cmsghdr* c = CMSG_FIRSTHDR(msg); c != nullptr; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(sizeof(int))) continue;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
  }
  return -1;
}

bool valid_record(const wire::AcceptRecord& record) {
  return record.magic == wire::kMagic && record.kind == static_cast<uint16_t>(wire::ReplyKind::kAccept) &&
         (record.peer.family == AF_INET || record.peer.family == AF_INET6);
}

// The accepted connection, as the app must see it: an established virtual
// TCP socket that inherits the listener's options, as the kernel's does.
int install_accepted(const VSocket* listener, int fd, const wire::AcceptRecord& record) {
  VSocket* vs = vsocket_new(listener->domain, SOCK_STREAM, IPPROTO_TCP);
  if (vs == nullptr) return ENOMEM;
  vs->bound = true;
  vs->peer = record.peer;
  vs->local = connection_local(listener->domain, listener->local, record.peer);
  vs->options = listener->options;
  vs->app_sndbuf = listener->app_sndbuf;
  memcpy(vs->stored, listener->stored, sizeof vs->stored);
  vs->connect_reported = true;
  store_state(vs, State::kTcpEstablished);
  if (!fd_install(fd, vs)) {
    vsocket_unref(vs);
    return EMFILE;
  }
  return 0;
}

}  // namespace

int inbound_accept(VSocket* vs, int fd, struct sockaddr* sa, socklen_t* len, int flags) {
  if (vs->type != SOCK_STREAM) return fail(EOPNOTSUPP);
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) return fail(EINVAL);
  if (load_state(vs) != State::kListening) return fail(EINVAL);
  if (sa != nullptr && len == nullptr) return fail(EFAULT);

  wire::AcceptRecord record;
  struct iovec iov = {&record, sizeof record};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = NL_REAL(recvmsg)(fd, &msg, (flags & SOCK_CLOEXEC) ? MSG_CMSG_CLOEXEC : 0);
  if (n < 0) return -1;  // EAGAIN on an empty queue, EINTR, SO_RCVTIMEO: as accept reports them
  int conn = received_fd(&msg);
  if (n == 0) {
    // The daemon went away and the real listener with it. See README.md:
    // close this socket and listen again.
    debug("accept on fd %d: the daemon closed the listener", fd);
    return fail(ECONNABORTED);
  }
  if ((msg.msg_flags & MSG_CTRUNC) != 0) {  // no room for the fd: the connection is lost
    if (conn >= 0) NL_REAL(close)(conn);
    return fail(EMFILE);
  }
  if (n != static_cast<ssize_t>(sizeof record) || conn < 0 || !valid_record(record)) {
    if (conn >= 0) NL_REAL(close)(conn);
    debug("accept on fd %d: malformed record from the daemon", fd);
    return fail(ECONNABORTED);
  }
  // The app's end comes blocking (O_NONBLOCK belongs to the open file, which
  // the daemon shares with nobody); SOCK_NONBLOCK is ours to apply.
  int err = 0;
  if ((flags & SOCK_NONBLOCK) != 0 && NL_REAL(fcntl)(conn, F_SETFL, O_NONBLOCK) != 0) err = errno;
  if (err == 0) err = install_accepted(vs, conn, record);
  if (err != 0) {
    NL_REAL(close)(conn);
    return fail(err);
  }
  if (sa != nullptr) address_to_sockaddr(vs->domain, record.peer, sa, len);
  return conn;
}

}  // namespace netleash::shim
