// How the shim reaches netleashd: the socket path, attaching an app socket to
// a listener, and one-shot seqpacket questions (kCheck, kResolve).
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/daemon_socket.h"
#include "shim/internal.h"
#include "shim/real.h"

namespace netleash::shim {
namespace {

constexpr char kDatagramSuffix[] = ".dgram";
// How long a full listen backlog may keep us waiting before we call the
// daemon unreachable.
constexpr int kAttachPatienceMs = 5000;

// Fills a sockaddr_un for the stream path or PATH.dgram. Read each time (it
// is only used on connection setup) so no global state needs initialising.
bool daemon_address(bool datagram, sockaddr_un* out, socklen_t* len) {
  const char* path = nullptr;
  // A secure-execution process (setuid, setgid, capabilities) must not let
  // its caller's environment pick the daemon.
  if (getauxval(AT_SECURE) == 0) path = getenv("NETLEASH_SOCKET");
  if (path == nullptr || path[0] == '\0') path = kDefaultDaemonSocket;
  size_t n = strlen(path);
  size_t suffix = datagram ? sizeof kDatagramSuffix - 1 : 0;
  memset(out, 0, sizeof *out);
  if (n + suffix >= sizeof out->sun_path) return false;
  out->sun_family = AF_UNIX;
  memcpy(out->sun_path, path, n);
  if (datagram) memcpy(out->sun_path + n, kDatagramSuffix, suffix);
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n + suffix + 1);
  return true;
}

int64_t now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

bool fd_is_nonblocking(int fd) {
  int flags = NL_REAL(fcntl)(fd, F_GETFL);
  return flags >= 0 && (flags & O_NONBLOCK) != 0;
}

int daemon_attach(int fd, bool datagram) {
  tree_join_once();
  sockaddr_un sun;
  socklen_t len;
  if (!daemon_address(datagram, &sun, &len)) return ECONNREFUSED;
  int64_t deadline = now_ms() + kAttachPatienceMs;
  int delay_us = 100;
  for (;;) {
    if (NL_REAL(connect)(fd, reinterpret_cast<sockaddr*>(&sun), len) == 0) return 0;
    // A non-blocking unix connect fails with EAGAIN when the backlog is full
    // instead of waiting; an Internet connect would not, so wait here.
    if (errno == EINTR) continue;
    if (errno != EAGAIN || now_ms() >= deadline) {
      debug("daemon at %s unreachable: %s", sun.sun_path, strerror(errno));
      return ECONNREFUSED;
    }
    timespec pause = {0, delay_us * 1000L};
    nanosleep(&pause, nullptr);
    if (delay_us < 20000) delay_us *= 2;
  }
}

int replace_unix_socket(int fd, int type) {
  int status = NL_REAL(fcntl)(fd, F_GETFL);
  int fd_flags = NL_REAL(fcntl)(fd, F_GETFD);
  if (status < 0 || fd_flags < 0) return -1;
  int fresh = NL_REAL(socket)(AF_UNIX, type | SOCK_CLOEXEC | ((status & O_NONBLOCK) ? SOCK_NONBLOCK : 0), 0);
  if (fresh < 0) return -1;
  int r = NL_REAL(dup3)(fresh, fd, (fd_flags & FD_CLOEXEC) ? O_CLOEXEC : 0);
  int saved = errno;
  NL_REAL(close)(fresh);
  if (r < 0) return fail(saved);
  debug("fd %d: replaced its dead daemon connection", fd);
  return 0;
}

wire::Request make_request(wire::Op op) {
  wire::Request request;
  memset(&request, 0, sizeof request);
  request.magic = wire::kMagic;
  request.version = wire::kVersion;
  request.op = static_cast<uint16_t>(op);
  request.length = sizeof request;
  return request;
}

int wait_readable(int fd, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    pollfd p = {fd, POLLIN, 0};
    int64_t left = deadline - now_ms();
    if (left < 0) left = 0;
    int r = poll(&p, 1, static_cast<int>(left));
    if (r > 0) return 0;  // readable, or hung up: the read that follows tells which
    if (r == 0) return ETIMEDOUT;
    if (errno != EINTR) return errno;
  }
}

int send_all(int fd, const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = NL_REAL(send)(fd, p, len, MSG_NOSIGNAL);
    if (n > 0) {
      p += n;
      len -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd pfd = {fd, POLLOUT, 0};
      if (poll(&pfd, 1, kAttachPatienceMs) > 0 || errno == EINTR) continue;
      return ECONNREFUSED;
    }
    return ECONNREFUSED;
  }
  return 0;
}

ssize_t daemon_ask(const wire::Request& request, void* reply, size_t reply_size, int timeout_ms) {
  int fd = NL_REAL(socket)(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  ssize_t result;
  int err = daemon_attach(fd, true);
  if (err == 0) {
    ssize_t sent;
    do sent = NL_REAL(send)(fd, &request, sizeof request, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    if (sent != static_cast<ssize_t>(sizeof request)) err = ECONNREFUSED;
  }
  if (err == 0) err = wait_readable(fd, timeout_ms);
  if (err == 0) {
    do result = NL_REAL(recv)(fd, reply, reply_size, MSG_DONTWAIT);
    while (result < 0 && errno == EINTR);
    if (result <= 0) err = ECONNREFUSED;  // closed without answering: treat as unreachable
  }
  NL_REAL(close)(fd);
  return err != 0 ? -err : result;
}

}  // namespace netleash::shim
