// bind and listen for servers. bind only records the virtual address (and,
// for a UDP server, opens its bound association); listen asks the daemon to
// listen for real on the inbound rule's `expose` address. From then on the
// socket's unix stream carries one AcceptRecord (+ fd) per admitted client,
// so the fd is readable exactly when accept() has something to take.
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "shim/inbound.h"
#include "shim/internal.h"
#include "shim/real.h"

namespace netleash::shim {
namespace {

constexpr int kReplyTimeoutMs = 10000;
// Linux clamps a listen backlog to net.core.somaxconn; the daemon clamps again.
constexpr int kMaxBacklog = 65535;

bool option_on(VSocket* vs, int fd, int level, int name) {
  int value = 0;
  socklen_t len = sizeof value;
  return options_get(vs, fd, level, name, &value, &len) == 0 && value != 0;
}

// What the daemon needs to know about the app's own socket options.
uint32_t listen_flags(VSocket* vs, int fd) {
  uint32_t flags = 0;
  if (option_on(vs, fd, SOL_SOCKET, SO_REUSEPORT)) flags |= wire::kFlagReusePort;
  if (vs->domain == AF_INET6 && option_on(vs, fd, IPPROTO_IPV6, IPV6_V6ONLY)) flags |= wire::kFlagV6Only;
  return flags;
}

// Reads the daemon's Result on a connection just attached. Returns 0 (the
// daemon listens), the daemon's errno, or ECONNREFUSED when it vanished.
int read_result(int fd) {
  wire::Reply reply;
  size_t have = 0;
  while (have < sizeof reply) {
    if (int err = wait_readable(fd, kReplyTimeoutMs)) return err == ETIMEDOUT ? ECONNREFUSED : err;
    ssize_t n = NL_REAL(recv)(fd, reinterpret_cast<char*>(&reply) + have, sizeof reply - have, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return ECONNREFUSED;
    have += static_cast<size_t>(n);
  }
  if (reply.magic != wire::kMagic || reply.kind != static_cast<uint16_t>(wire::ReplyKind::kResult) ||
      reply.error < 0 || reply.error > 4095)
    return ECONNREFUSED;
  return reply.error;
}

// The kernel binds an unbound socket that listens to the wildcard address
// and an ephemeral port; so do we, virtually.
void autobind(VSocket* vs) {
  uint16_t family = vs->local.family;
  memset(&vs->local, 0, sizeof vs->local);
  vs->local.family = family;
  vs->local.port = ephemeral_port();
  vs->inbound |= kInboundAnyPort;
  vs->bound = true;
}

int ask_daemon_to_listen(VSocket* vs, int fd, int backlog) {
  if (daemon_attach(fd, false) != 0) return ECONNREFUSED;  // still unconnected: listen may be retried
  wire::Request request = make_request(wire::Op::kListen);
  request.protocol = static_cast<uint8_t>(wire::Protocol::kTcp);
  request.addr = inbound_rule_address(vs);
  request.local = vs->local;  // with the port a port-0 bind invented: where leashed clients find it
  request.options = vs->options;
  request.backlog = backlog;
  request.flags = listen_flags(vs, fd);
  int err = send_all(fd, &request, sizeof request);
  if (err == 0) err = read_result(fd);
  // Refused: the unix socket is connected to a closed stream; give the app
  // a fresh one so that the socket stays usable, as after a failed listen().
  if (err != 0 && replace_unix_socket(fd, SOCK_STREAM) != 0) debug("fd %d: cannot renew after listen", fd);
  return err;
}

}  // namespace

wire::Address inbound_rule_address(const VSocket* vs) {
  wire::Address address = vs->local;
  if (vs->inbound & kInboundAnyPort) address.port = 0;
  return address;
}

int inbound_bind(VSocket* vs, int fd, bool any_port) {
  if (any_port) vs->inbound |= kInboundAnyPort;
  // A UDP socket bound to port 0 is a client choosing its source address:
  // its association opens on the first send, as for an unbound socket. A
  // fixed port may be a server's: the association opens now, and the daemon
  // says whether an inbound rule made it one, or it is a client that chose
  // its source port (kReplyClient, udp.cc).
  if (vs->type != SOCK_DGRAM || any_port) return 0;
  vs->inbound |= kInboundBoundUdp;
  int err = udp_ensure_open(vs, fd);
  if (err == 0) return 0;
  vs->inbound = 0;
  vs->bound = false;
  // The seqpacket socket may be connected to a closed association now.
  if (replace_unix_socket(fd, SOCK_SEQPACKET) != 0) debug("fd %d: cannot renew after bind", fd);
  debug("bind of UDP fd %d refused: %s", fd, strerror(err));
  if (err == EACCES) debug_denied_address("bind", inbound_rule_address(vs), true, true);
  return fail(err);
}

int inbound_listen(VSocket* vs, int fd, int backlog) {
  State state = load_state(vs);
  if (state == State::kListening) return 0;  // listen() again: fine; the daemon keeps the first backlog
  if (state != State::kTcpFresh) return fail(EINVAL);
  if (!try_lock(&vs->busy)) return fail(EINVAL);  // a connect or listen is under way
  if (!vs->bound) autobind(vs);
  if (backlog < 0 || backlog > kMaxBacklog) backlog = kMaxBacklog;
  int err = ask_daemon_to_listen(vs, fd, backlog);
  if (err == 0) store_state(vs, State::kListening);
  unlock(&vs->busy);
  debug("listen on fd %d: %s", fd, err == 0 ? "ok" : strerror(err));
  if (err == EACCES) debug_denied_address("listen", inbound_rule_address(vs), false, true);
  return err == 0 ? 0 : fail(err);
}

}  // namespace netleash::shim
