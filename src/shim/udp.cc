// Virtual UDP: the app's fd is a unix SOCK_SEQPACKET socket. On the first
// connect/sendto it opens an association with the daemon (kDatagramOpen);
// from then on each packet is a DatagramHeader (destination out, real
// source in) followed by one datagram's payload, so boundaries are kept.
//
// The daemon checks every datagram; the shim asks first (kCheck, cached per
// socket and destination) so a denied sendto fails with EACCES and nothing
// leaves.
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "shim/inbound.h"
#include "shim/internal.h"
#include "shim/real.h"

namespace netleash::shim {
namespace {

constexpr int kAskTimeoutMs = 10000;
// Scatter/gather entries per datagram (plus our header); kept small so the
// framing array stays a modest stack buffer.
constexpr size_t kMaxIov = 255;

// Returns 0 if allowed, EACCES if denied, ECONNREFUSED if the daemon is away.
int check_destination(VSocket* vs, const wire::Address& dst) {
  if (vs->inbound & kInboundBoundUdp) return 0;  // a server's replies: the daemon checks them
  // The cache lock is only ever tried, never waited for, so neither threads
  // nor fork can deadlock on it: a busy cache is a cache miss.
  if (try_lock(&vs->cache_lock)) {
    for (CheckCacheEntry& e : vs->cache) {
      if (e.used != 0 && address_equal(e.addr, dst)) {
        int err = e.error;
        unlock(&vs->cache_lock);
        return err;
      }
    }
    unlock(&vs->cache_lock);
  }
  wire::Request request = make_request(wire::Op::kCheck);
  request.protocol = static_cast<uint8_t>(wire::Protocol::kUdp);
  request.addr = dst;
  wire::Reply reply;
  ssize_t n = daemon_ask(request, &reply, sizeof reply, kAskTimeoutMs);
  if (n < 0) return ECONNREFUSED;
  if (n != static_cast<ssize_t>(sizeof reply) || reply.magic != wire::kMagic ||
      reply.kind != static_cast<uint16_t>(wire::ReplyKind::kResult))
    return ECONNREFUSED;
  int err = reply.error == 0 ? 0 : EACCES;
  // Once per socket and destination (the answer is cached): why, when debugging.
  if (err == EACCES) debug_denied_address("sendto", dst, true, false);
  if (try_lock(&vs->cache_lock)) {
    CheckCacheEntry& slot = vs->cache[vs->cache_clock++ % kCheckCacheSize];
    slot.addr = dst;
    slot.error = err;
    slot.used = 1;
    unlock(&vs->cache_lock);
  }
  return err;
}

// Opens the association once. Returns 0 or an errno.
int ensure_open(VSocket* vs, int fd) {
  for (;;) {
    uint32_t st = __atomic_load_n(&vs->udp_open, __ATOMIC_ACQUIRE);
    if (st == 2) return 0;
    uint32_t expected = 0;
    if (st == 0 && __atomic_compare_exchange_n(&vs->udp_open, &expected, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      break;
    poll(nullptr, 0, 1);  // another thread is opening it
  }
  int err = daemon_attach(fd, true);
  if (err == 0) {
    wire::Request request = make_request(wire::Op::kDatagramOpen);
    request.protocol = static_cast<uint8_t>(wire::Protocol::kUdp);
    request.addr = vs->peer;
    if (vs->inbound & kInboundBoundUdp) {  // a UDP server (inbound_listen.cc)
      request.flags = wire::kFlagBound;
      request.addr = inbound_rule_address(vs);
    }
    err = send_all(fd, &request, sizeof request);
    wire::Reply reply;
    ssize_t n = -1;
    if (err == 0 && (err = wait_readable(fd, kAskTimeoutMs)) == 0) {
      do n = NL_REAL(recv)(fd, &reply, sizeof reply, MSG_DONTWAIT);
      while (n < 0 && errno == EINTR);
    }
    if (err == 0 && (n != static_cast<ssize_t>(sizeof reply) || reply.magic != wire::kMagic)) err = ECONNREFUSED;
    if (err == 0 && reply.error != 0) err = reply.error;
    // No inbound rule for the bound port: the daemon made it a client
    // association, whose destinations we check like any client's.
    if (err == 0 && (reply.flags & wire::kReplyClient)) vs->inbound &= ~kInboundBoundUdp;
  }
  if (err == ETIMEDOUT) err = ECONNREFUSED;
  if (err == 0 && !vs->bound) vs->local.port = ephemeral_port();
  // A failed attach leaves the seqpacket socket unconnected, so retrying
  // later (daemon restarted) works.
  __atomic_store_n(&vs->udp_open, err == 0 ? 2u : 0u, __ATOMIC_RELEASE);
  if (err != 0) debug("udp association failed: %s", strerror(err));
  return err;
}

bool association_lost(int err) { return err == EPIPE || err == ECONNRESET || err == ENOTCONN; }

// Replaces the dead seqpacket socket and opens a new association.
int reopen(VSocket* vs, int fd) {
  uint32_t open = 2;
  if (!__atomic_compare_exchange_n(&vs->udp_open, &open, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return ensure_open(vs, fd);  // another thread is already at it
  int err = replace_unix_socket(fd, SOCK_SEQPACKET) == 0 ? 0 : errno;
  __atomic_store_n(&vs->udp_open, 0u, __ATOMIC_RELEASE);
  return err != 0 ? err : ensure_open(vs, fd);
}

size_t total_length(const struct msghdr* msg) {
  size_t total = 0;
  for (size_t i = 0; i < msg->msg_iovlen; ++i) total += msg->msg_iov[i].iov_len;
  return total;
}

}  // namespace

int udp_ensure_open(VSocket* vs, int fd) { return ensure_open(vs, fd); }

int udp_connect(VSocket* vs, int fd, const struct sockaddr* sa, socklen_t len) {
  if (sa != nullptr && len >= static_cast<socklen_t>(sizeof(sa_family_t)) && sa->sa_family == AF_UNSPEC) {
    vs->peer.family = 0;  // dissolve the association's default peer
    return 0;
  }
  wire::Address dst;
  if (int err = address_from_sockaddr(vs->domain, sa, len, &dst)) return fail(err);
  if (int err = check_destination(vs, dst)) return fail(err);
  vs->peer = dst;
  if (int err = ensure_open(vs, fd)) return fail(err);
  return 0;
}

ssize_t udp_sendmsg(VSocket* vs, int fd, const struct msghdr* msg, int flags) {
  wire::DatagramHeader header;
  memset(&header, 0, sizeof header);
  if (msg->msg_name != nullptr && msg->msg_namelen > 0) {
    if (int err = address_from_sockaddr(vs->domain, static_cast<const sockaddr*>(msg->msg_name), msg->msg_namelen,
                                        &header.addr))
      return fail(err);
  } else if (vs->peer.family != 0) {
    header.addr = vs->peer;
  } else {
    return fail(EDESTADDRREQ);
  }
  if (total_length(msg) > wire::kMaxDatagram) return fail(EMSGSIZE);
  if (msg->msg_iovlen > kMaxIov) return fail(EMSGSIZE);
  if (int err = check_destination(vs, header.addr)) return fail(err);
  if (int err = ensure_open(vs, fd)) return fail(err);

  struct iovec iov[kMaxIov + 1];
  iov[0].iov_base = &header;
  iov[0].iov_len = sizeof header;
  for (size_t i = 0; i < msg->msg_iovlen; ++i) iov[i + 1] = msg->msg_iov[i];
  struct msghdr framed = {};
  framed.msg_iov = iov;
  framed.msg_iovlen = msg->msg_iovlen + 1;
  // Ancillary data (IP_PKTINFO and the like) has no meaning on the unix leg.
  int send_flags = (flags & ~(MSG_FASTOPEN | MSG_CONFIRM | MSG_MORE)) | MSG_NOSIGNAL;
  ssize_t n = NL_REAL(sendmsg)(fd, &framed, send_flags);
  if (n < 0 && association_lost(errno)) {
    // The daemon restarted, or closed the idle association: open a new one.
    if (int err = reopen(vs, fd)) return fail(err);
    n = NL_REAL(sendmsg)(fd, &framed, send_flags);
  }
  if (n < 0) {
    if (association_lost(errno)) errno = ECONNREFUSED;  // like an ICMP error
    return -1;
  }
  return n - static_cast<ssize_t>(sizeof header);
}

ssize_t udp_recvmsg(VSocket* vs, int fd, struct msghdr* msg, int flags) {
  if (__atomic_load_n(&vs->udp_open, __ATOMIC_ACQUIRE) != 2) {
    // Nothing can arrive before the first send: no inbound relay yet. Behave
    // like an idle socket: EAGAIN, or wait until a signal interrupts.
    if ((flags & MSG_DONTWAIT) != 0 || fd_is_nonblocking(fd)) return fail(EAGAIN);
    poll(nullptr, 0, -1);
    return -1;
  }
  if (msg->msg_iovlen > kMaxIov) return fail(EMSGSIZE);
  for (;;) {
    wire::DatagramHeader header;
    struct iovec iov[kMaxIov + 1];
    iov[0].iov_base = &header;
    iov[0].iov_len = sizeof header;
    for (size_t i = 0; i < msg->msg_iovlen; ++i) iov[i + 1] = msg->msg_iov[i];
    struct msghdr framed = {};
    framed.msg_iov = iov;
    framed.msg_iovlen = msg->msg_iovlen + 1;
    ssize_t n = NL_REAL(recvmsg)(fd, &framed, flags & ~MSG_ERRQUEUE);
    if (n < 0) return -1;
    if (n == 0) {
      // The daemon closed the association (restart, idle timeout): say so
      // once, like an ICMP error, and listen on a new one from now on.
      reopen(vs, fd);
      return fail(ECONNREFUSED);
    }
    bool malformed = n < static_cast<ssize_t>(sizeof header) ||
                     (header.addr.family != AF_INET && header.addr.family != AF_INET6);
    // A connected UDP socket only hears from its peer.
    bool foreign = !malformed && vs->peer.family != 0 && !address_equal(header.addr, vs->peer);
    if (malformed || foreign) {
      if ((flags & MSG_PEEK) != 0) {  // consume the unwanted packet, then look again
        wire::DatagramHeader discard;
        NL_REAL(recv)(fd, &discard, sizeof discard, MSG_DONTWAIT);
      }
      continue;
    }
    if (msg->msg_name != nullptr) {
      socklen_t len = msg->msg_namelen;
      address_to_sockaddr(vs->domain, header.addr, static_cast<sockaddr*>(msg->msg_name), &len);
      msg->msg_namelen = len;
    } else {
      msg->msg_namelen = 0;
    }
    msg->msg_controllen = 0;
    msg->msg_flags = framed.msg_flags & MSG_TRUNC;
    return n - static_cast<ssize_t>(sizeof header);
  }
}

}  // namespace netleash::shim
