// connect() on a virtual TCP socket, and finishing a non-blocking one.
//
// The app's unix stream socket connects to the daemon and sends a Request;
// the daemon answers a Verdict (policy, immediate) and later a Result (the
// upstream connect outcome). A blocking connect waits for both. A
// non-blocking one waits only for the Verdict, returns EINPROGRESS, and uses
// the padding trick (docs/protocol.md) so POLLOUT means "Result is readable".
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "shim/internal.h"
#include "shim/real.h"

namespace netleash::shim {
namespace {

constexpr int kVerdictTimeoutMs = 10000;
constexpr size_t kPadding = 4096;

enum class Wait {
  kNo,       // never block (non-blocking socket, MSG_DONTWAIT, SO_ERROR)
  kBlocking, // the fd is blocking: let recv block, so the kernel decides about EINTR/SA_RESTART
  kPoll,     // the fd is non-blocking but we must have the answer (the Verdict)
};

// Outcome of advance(): 0 established; > 0 failed with that errno (now
// reported, socket closed); -1 with errno EAGAIN (not yet) or EINTR.
int finish_failed(VSocket* vs, int error) {
  vs->awaiting = Awaiting::kNothing;
  vs->peer.family = 0;
  store_state(vs, State::kTcpClosed);
  return error;
}

int finish_established(VSocket* vs, int fd, State established) {
  vs->awaiting = Awaiting::kNothing;
  options_restore_sndbuf(vs, fd);
  store_state(vs, established);
  return 0;
}

// Takes the connect lock. A thread holding it is reading the daemon's answer
// and blocks while holding it only on a blocking fd, where we wait too (in
// 1 ms steps); a non-blocking caller gets false at once.
bool take_busy(VSocket* vs, bool wait) {
  while (!try_lock(&vs->busy)) {
    if (!wait) return false;
    poll(nullptr, 0, 1);
  }
  return true;
}

// Releases it, keeping the errno the caller is about to report.
void release_busy(VSocket* vs) {
  int saved = errno;
  unlock(&vs->busy);
  errno = saved;
}

// The daemon writes a failure Result before it lets the padding go, so a
// padded socket that is writable with no Result queued has connected.
bool padding_drained(int fd) {
  pollfd p = {fd, POLLOUT, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) == 0 && (p.revents & POLLOUT) != 0;
}

// A blocking wait on a padded socket: its success Result comes only with the
// first data, so wait for it or for writability. Returns 0, or -1 (EINTR).
int wait_result_or_drained(int fd) {
  pollfd p = {fd, POLLIN | POLLOUT, 0};
  return poll(&p, 1, -1) < 0 ? -1 : 0;
}

// Reads replies until established or failed; with stop_after_verdict, returns
// -1/EAGAIN as soon as an allowing Verdict is in.
int advance(VSocket* vs, int fd, Wait wait, bool stop_after_verdict) {
  for (;;) {
    while (vs->reply_have < sizeof(wire::Reply)) {
      if (wait == Wait::kPoll && wait_readable(fd, kVerdictTimeoutMs) != 0) {
        debug("daemon did not answer connect in time");
        return finish_failed(vs, ECONNREFUSED);
      }
      const bool padded_result = vs->padded && vs->awaiting == Awaiting::kResult;
      size_t want = sizeof(wire::Reply) - vs->reply_have;
      int flags = wait == Wait::kBlocking && !padded_result ? 0 : MSG_DONTWAIT;
      ssize_t n = NL_REAL(recv)(fd, vs->reply + vs->reply_have, want, flags);
      if (n > 0) {
        vs->reply_have += static_cast<uint32_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (padded_result && vs->reply_have == 0 && padding_drained(fd))
          return finish_established(vs, fd, State::kTcpResultAhead);
        if (wait == Wait::kPoll) continue;
        if (wait == Wait::kBlocking && padded_result && errno == EAGAIN) {
          if (wait_result_or_drained(fd) != 0) return -1;
          continue;
        }
        return -1;  // errno: EAGAIN (pending, or SO_RCVTIMEO expired) or EINTR
      }
      // EOF or a socket error before the answer. Before the Verdict, or for a
      // blocking connect, the daemon went away: refused. A padded connect's
      // success Result comes only with the first byte, so there the daemon may
      // have connected and then lost the upstream (a reset) before any byte.
      debug("daemon closed the connection during connect");
      return finish_failed(vs, padded_result ? ECONNRESET : ECONNREFUSED);
    }
    wire::Reply reply;
    memcpy(&reply, vs->reply, sizeof reply);
    vs->reply_have = 0;
    auto expected = vs->awaiting == Awaiting::kVerdict ? wire::ReplyKind::kVerdict : wire::ReplyKind::kResult;
    if (reply.magic != wire::kMagic || reply.kind != static_cast<uint16_t>(expected) || reply.error < 0 ||
        reply.error > 4095) {
      debug("malformed reply from daemon");
      return finish_failed(vs, ECONNREFUSED);
    }
    if (reply.error != 0) return finish_failed(vs, reply.error);
    if (vs->awaiting == Awaiting::kResult) return finish_established(vs, fd, State::kTcpEstablished);
    vs->awaiting = Awaiting::kResult;
    if (stop_after_verdict) {
      errno = EAGAIN;
      return -1;
    }
  }
}

// After a failed connect the unix socket is connected to a daemon that has
// hung up, and a unix socket cannot connect twice; a kernel TCP socket can.
int renew_socket(VSocket* vs, int fd) {
  if (replace_unix_socket(fd, SOCK_STREAM) != 0) return -1;
  vs->saved_sndbuf = 0;
  vs->padded = false;
  store_state(vs, State::kTcpFresh);
  return 0;
}

// Sends the Request; on a non-blocking socket with padding, then shrinks
// SO_SNDBUF so the fd stays unwritable until the daemon drains the padding.
int send_request(VSocket* vs, int fd, const wire::Address& dst, bool padded) {
  static_assert(sizeof(wire::Request) + kPadding <= wire::kMaxRequestLength);
  char buffer[sizeof(wire::Request) + kPadding];
  wire::Request request = make_request(wire::Op::kConnect);
  request.protocol = static_cast<uint8_t>(wire::Protocol::kTcp);
  request.addr = dst;
  request.local = vs->local;  // the source a leashed listener sees (docs/protocol.md)
  request.options = vs->options;
  size_t total = sizeof request;
  if (padded) {
    total += kPadding;
    request.length = static_cast<uint32_t>(total);
    memset(buffer + sizeof request, 0, kPadding);
  }
  memcpy(buffer, &request, sizeof request);
  if (padded) {
    int sndbuf = 0;
    socklen_t len = sizeof sndbuf;
    if (NL_REAL(getsockopt)(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) == 0) vs->saved_sndbuf = sndbuf;
  }
  vs->padded = padded;
  int err = send_all(fd, buffer, total);
  if (err == 0 && padded) {
    int minimum = 1;  // the kernel clamps this up to its minimum
    NL_REAL(setsockopt)(fd, SOL_SOCKET, SO_SNDBUF, &minimum, sizeof minimum);
  }
  return err;
}

}  // namespace

bool tcp_is_established(State s) { return s == State::kTcpEstablished || s == State::kTcpResultAhead; }

int tcp_finish_connect(VSocket* vs, int fd, bool wait) {
  State s = load_state(vs);
  if (tcp_is_established(s)) return 0;
  if (s != State::kTcpConnecting) return ENOTCONN;
  if (!take_busy(vs, wait)) return fail(EAGAIN);
  int r;
  if (load_state(vs) != State::kTcpConnecting)  // the other thread finished it
    r = tcp_is_established(load_state(vs)) ? 0 : ENOTCONN;
  else
    r = advance(vs, fd, wait ? Wait::kBlocking : Wait::kNo, false);
  release_busy(vs);
  return r;
}

int tcp_take_error(VSocket* vs, int fd) {
  if (load_state(vs) != State::kTcpConnecting) return 0;
  int r = tcp_finish_connect(vs, fd, false);
  return r > 0 ? r : 0;  // still in progress: 0, as the kernel reports
}

bool tcp_check_connected(VSocket* vs, int fd) {
  State s = load_state(vs);
  if (s != State::kTcpConnecting) return tcp_is_established(s);
  // Look without taking: a failure must stay for SO_ERROR or the next call
  // to report. Only a success is consumed here.
  if (vs->awaiting != Awaiting::kResult || vs->reply_have != 0) return false;
  wire::Reply reply;
  ssize_t n = NL_REAL(recv)(fd, &reply, sizeof reply, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0 && (n != static_cast<ssize_t>(sizeof reply) || reply.error != 0)) return false;
  if (n <= 0 && !(vs->padded && padding_drained(fd))) return false;
  return tcp_finish_connect(vs, fd, false) == 0;
}

int tcp_read_result_ahead(VSocket* vs, int fd, bool wait) {
  if (!take_busy(vs, wait)) return fail(EAGAIN);
  int error = 0;
  while (load_state(vs) == State::kTcpResultAhead && vs->reply_have < sizeof(wire::Reply)) {
    ssize_t n = NL_REAL(recv)(fd, vs->reply + vs->reply_have, sizeof(wire::Reply) - vs->reply_have,
                              wait ? 0 : MSG_DONTWAIT);
    if (n > 0) {
      vs->reply_have += static_cast<uint32_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      error = errno;
      break;
    }
    // EOF or an error before the Result: the daemon ended the relay abruptly
    // (the peer reset, or the daemon went away) before a byte came.
    error = finish_failed(vs, n == 0 ? ECONNRESET : errno);
    break;
  }
  if (error == 0 && load_state(vs) == State::kTcpResultAhead) {
    wire::Reply reply;
    memcpy(&reply, vs->reply, sizeof reply);
    vs->reply_have = 0;
    if (reply.magic != wire::kMagic || reply.kind != static_cast<uint16_t>(wire::ReplyKind::kResult) ||
        reply.error != 0) {
      debug("malformed result ahead of the data");
      error = finish_failed(vs, ECONNRESET);
    } else {
      store_state(vs, State::kTcpEstablished);
    }
  }
  release_busy(vs);
  return error == 0 ? 0 : fail(error);
}

int tcp_connect(VSocket* vs, int fd, const struct sockaddr* sa, socklen_t len) {
  if (sa != nullptr && len >= static_cast<socklen_t>(sizeof(sa_family_t)) && sa->sa_family == AF_UNSPEC)
    return load_state(vs) == State::kTcpFresh ? 0 : fail(EINVAL);  // "disconnect": nothing to undo
  wire::Address dst;
  int err = address_from_sockaddr(vs->domain, sa, len, &dst);
  if (err != 0) return fail(err);

  switch (load_state(vs)) {
    case State::kTcpEstablished:
    case State::kTcpResultAhead:
      if (!vs->connect_reported) {  // the second connect() after EINPROGRESS
        vs->connect_reported = true;
        return 0;
      }
      return fail(EISCONN);
    case State::kTcpConnecting: {
      int r = tcp_finish_connect(vs, fd, !fd_is_nonblocking(fd));
      if (r == 0) {
        vs->connect_reported = true;
        return 0;
      }
      if (r > 0) return fail(r);
      return fail(errno == EAGAIN ? EALREADY : errno);
    }
    case State::kTcpClosed:
      if (renew_socket(vs, fd) != 0) return -1;
      break;
    case State::kListening:
      return fail(EISCONN);
    default:
      break;
  }

  if (!try_lock(&vs->busy)) return fail(EALREADY);
  if (!cas_state(vs, State::kTcpFresh, State::kTcpConnecting)) {
    unlock(&vs->busy);
    return fail(EALREADY);
  }
  vs->peer = dst;
  if (!vs->bound) vs->local.port = ephemeral_port();
  vs->local = connection_local(vs->domain, vs->local, dst);
  bool nonblocking = fd_is_nonblocking(fd);
  int result;
  if (daemon_attach(fd, false) != 0) {
    // The unix socket is still unconnected, so a later connect may retry.
    vs->peer.family = 0;
    store_state(vs, State::kTcpFresh);
    result = fail(ECONNREFUSED);
  } else if (send_request(vs, fd, dst, nonblocking) != 0) {
    result = fail(finish_failed(vs, ECONNREFUSED));
  } else {
    vs->awaiting = Awaiting::kVerdict;
    vs->reply_have = 0;
    int r = advance(vs, fd, nonblocking ? Wait::kPoll : Wait::kBlocking, nonblocking);
    if (r == 0) {
      vs->connect_reported = true;
      result = 0;
    } else if (r > 0) {
      result = fail(r);
    } else if (errno == EAGAIN) {
      // Non-blocking and allowed; or blocking and SO_RCVTIMEO ran out, which
      // is how the kernel reports a connect timeout too.
      vs->connect_reported = false;
      result = fail(EINPROGRESS);
    } else {
      result = -1;  // EINTR: the connect goes on; a later connect says EALREADY
    }
  }
  release_busy(vs);
  debug("connect fd %d: %s", fd, result == 0 ? "ok" : strerror(errno));
  if (result != 0 && errno == EACCES) debug_denied_address("connect", dst, false, false);
  return result;
}

}  // namespace netleash::shim
