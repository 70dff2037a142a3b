// socket() and the calls that set up or describe a socket: socketpair,
// connect, bind, listen, accept, shutdown, getsockname, getpeername.
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "shim/inbound.h"
#include "shim/internal.h"
#include "shim/real.h"

using namespace netleash::shim;

namespace {

constexpr int kTypeFlags = SOCK_NONBLOCK | SOCK_CLOEXEC;
constexpr int kIpProtoMptcp = 262;  // an MPTCP socket is still a TCP socket to the app
constexpr int kIcmpAuditTimeoutMs = 10000;

// ping's sockets: an ICMP "ping socket" (SOCK_DGRAM) or a raw ICMP one.
bool is_icmp(int base_type, int protocol) {
  return (base_type == SOCK_DGRAM || base_type == SOCK_RAW) &&
         (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6);
}

// ICMP is never relayed, so the socket is refused whatever the daemon says;
// it is asked only so that the refusal is audited, where the operator looks
// (a kCheck with Protocol::kIcmp). Waiting for its answer keeps the line
// ahead of whatever the program does next.
void audit_icmp_refusal(int domain) {
  wire::Request request = make_request(wire::Op::kCheck);
  request.protocol = static_cast<uint8_t>(wire::Protocol::kIcmp);
  request.addr.family = static_cast<uint16_t>(domain);
  wire::Reply reply;
  if (daemon_ask(request, &reply, sizeof reply, kIcmpAuditTimeoutMs) < 0)
    debug("ICMP socket refused; the daemon could not be told");
  else
    debug("ICMP socket refused (audited): netleash relays TCP and UDP only");
}

// What an Internet socket() request becomes: 0 for TCP/UDP, else an errno.
int classify(int domain, int base_type, int* protocol) {
  (void)domain;
  if (base_type == SOCK_STREAM) {
    if (*protocol != 0 && *protocol != IPPROTO_TCP && *protocol != kIpProtoMptcp) return EPROTONOSUPPORT;
    *protocol = IPPROTO_TCP;
    return 0;
  }
  if (base_type == SOCK_DGRAM) {
    if (*protocol != 0 && *protocol != IPPROTO_UDP) return EPROTONOSUPPORT;
    *protocol = IPPROTO_UDP;
    return 0;
  }
  // SOCK_RAW, SCTP's SOCK_SEQPACKET, anything else: the app never holds an
  // Internet socket the daemon does not relay.
  return EACCES;
}

}  // namespace

NL_EXPORT int socket(int domain, int type, int protocol) noexcept {
  if (domain != AF_INET && domain != AF_INET6) {
    if (domain == AF_PACKET) return fail(EACCES);
    int fd = NL_REAL(socket)(domain, type, protocol);
    if (fd >= 0) fd_forget(fd);  // a stale entry from an fd libc closed behind our back
    return fd;
  }
  if (process_unsealed()) {
    debug("socket(%d, %d, %d) refused: the process is not sealed", domain, type, protocol);
    return fail(EACCES);
  }
  int base = type & ~kTypeFlags;
  // ICMP sockets would reach the network directly: refused, and audited.
  if (is_icmp(base, protocol)) {
    audit_icmp_refusal(domain);
    return fail(EACCES);
  }
  int err = classify(domain, base, &protocol);
  if (err != 0) {
    debug("socket(%d, %d, %d) refused", domain, type, protocol);
    return fail(err);
  }
  VSocket* vs = vsocket_new(domain, base, protocol);
  if (vs == nullptr) return fail(ENOMEM);
  int fd = NL_REAL(socket)(AF_UNIX, (base == SOCK_STREAM ? SOCK_STREAM : SOCK_SEQPACKET) | (type & kTypeFlags), 0);
  if (fd < 0) {
    int saved = errno;
    vsocket_unref(vs);
    return fail(saved);
  }
  if (!fd_install(fd, vs)) {
    vsocket_unref(vs);
    NL_REAL(close)(fd);
    return fail(EMFILE);
  }
  return fd;
}

NL_EXPORT int socketpair(int domain, int type, int protocol, int fds[2]) noexcept {
  // AF_INET socketpair is EOPNOTSUPP from the kernel; others pass through.
  int r = NL_REAL(socketpair)(domain, type, protocol, fds);
  if (r == 0) {
    fd_forget(fds[0]);
    fd_forget(fds[1]);
  }
  return r;
}

NL_EXPORT int connect(int fd, const struct sockaddr* sa, socklen_t len) {
  VSocket* vs = fd_lookup(fd);
  if (vs == nullptr) return NL_REAL(connect)(fd, sa, len);
  if (vs->type == SOCK_DGRAM) return udp_connect(vs, fd, sa, len);
  return tcp_connect(vs, fd, sa, len);
}

NL_EXPORT int bind(int fd, const struct sockaddr* sa, socklen_t len) noexcept {
  VSocket* vs = fd_lookup(fd);
  if (vs == nullptr) return NL_REAL(bind)(fd, sa, len);
  // The address is what the app believes it has; the real one is the
  // daemon's, which inbound rules map it to (inbound_listen.cc).
  wire::Address local;
  int err = address_from_sockaddr(vs->domain, sa, len, &local);
  if (err != 0) return fail(err);
  if (vs->bound || vs->peer.family != 0) return fail(EINVAL);
  bool any_port = local.port == 0;
  if (any_port) local.port = ephemeral_port();
  vs->local = local;
  vs->bound = true;
  return inbound_bind(vs, fd, any_port);
}

NL_EXPORT int listen(int fd, int backlog) noexcept {
  VSocket* vs = fd_lookup(fd);
  if (vs == nullptr) return NL_REAL(listen)(fd, backlog);
  if (vs->type != SOCK_STREAM) return fail(EOPNOTSUPP);
  return inbound_listen(vs, fd, backlog);
}

NL_EXPORT int accept4(int fd, struct sockaddr* sa, socklen_t* len, int flags) {
  VSocket* vs = fd_lookup(fd);
  if (vs != nullptr) return inbound_accept(vs, fd, sa, len, flags);
  int r = NL_REAL(accept4)(fd, sa, len, flags);
  if (r >= 0) fd_forget(r);
  return r;
}

NL_EXPORT int accept(int fd, struct sockaddr* sa, socklen_t* len) {
  VSocket* vs = fd_lookup(fd);
  if (vs != nullptr) return inbound_accept(vs, fd, sa, len, 0);
  int r = NL_REAL(accept)(fd, sa, len);
  if (r >= 0) fd_forget(r);
  return r;
}

NL_EXPORT int shutdown(int fd, int how) noexcept {
  VSocket* vs = fd_lookup(fd);
  if (vs == nullptr) return NL_REAL(shutdown)(fd, how);
  if (how < SHUT_RD || how > SHUT_RDWR) return fail(EINVAL);
  State s = load_state(vs);
  if (s == State::kTcpConnecting) {
    // Shutting down a half-open connection: settle it first so the daemon
    // sees the EOF after the relay exists, as TCP would send FIN after SYN.
    int r = tcp_finish_connect(vs, fd, !fd_is_nonblocking(fd));
    if (r != 0) return fail(ENOTCONN);
    s = load_state(vs);
  }
  if (tcp_is_established(s)) return NL_REAL(shutdown)(fd, how);
  if (s == State::kUdp && vs->peer.family != 0) return 0;  // nothing to signal on UDP
  return fail(ENOTCONN);
}

NL_EXPORT int getsockname(int fd, struct sockaddr* sa, socklen_t* len) noexcept {
  VSocket* vs = fd_lookup(fd);
  if (vs == nullptr) return NL_REAL(getsockname)(fd, sa, len);
  if (len == nullptr || (sa == nullptr && *len > 0)) return fail(EFAULT);
  address_to_sockaddr(vs->domain, vs->local, sa, len);
  return 0;
}

NL_EXPORT int getpeername(int fd, struct sockaddr* sa, socklen_t* len) noexcept {
  VSocket* vs = fd_lookup(fd);
  if (vs == nullptr) return NL_REAL(getpeername)(fd, sa, len);
  if (len == nullptr || (sa == nullptr && *len > 0)) return fail(EFAULT);
  State s = load_state(vs);
  bool connected = vs->type == SOCK_STREAM ? tcp_check_connected(vs, fd) : (s == State::kUdp && vs->peer.family != 0);
  if (!connected) return fail(ENOTCONN);
  address_to_sockaddr(vs->domain, vs->peer, sa, len);
  return 0;
}
