#include "netleashd/datagram/inbound_udp.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>

#include "netleashd/intake/admission.h"
#include "netleashd/daemon.h"
#include "netleashd/decide/decisions.h"
#include "netleashd/dns/answer.h"
#include "netleashd/decide/inbound_decisions.h"
#include "netleashd/stream/inbound_registry.h"
#include "netleashd/datagram/udp_association.h"
#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {
namespace {

constexpr size_t kHeader = sizeof(wire::DatagramHeader);
constexpr int kBatch = 32;  // packets per readiness callback

char g_from_app[kHeader + wire::kMaxDatagram + 1];
char g_to_app[kHeader + 65536];

struct InboundUdp final : Tracked {
  Daemon* d;
  PeerIdentity who;
  int fd;
  wire::Address bound;  // the app's virtual address
  wire::Address real{};
  uint64_t started_ms;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  int open_handles = 0;
  bool closing = false;
  // Verdicts per peer (true: admitted / may be sent to), each audited once.
  // Valid for one policy set: a reload starts them over.
  const policy::PolicySet* verdicts_for = nullptr;
  std::map<std::string, bool> inbound_verdicts;
  std::map<std::string, bool> outbound_verdicts;
  dns::Liveness alive = std::make_shared<bool>(true);  // for DNS answers still being looked up
  uv_poll_t app_poll{};
  uv_udp_t udp{};

  InboundUdp(Daemon* daemon, int client, PeerIdentity peer, const wire::Address& at)
      : d(daemon), who(std::move(peer)), fd(client), bound(at), started_ms(uv_now(daemon->loop)) {}

  void stop() override;
  const std::string* live_bytes(uint64_t* sent, uint64_t* received) const override {
    *sent = bytes_sent;
    *received = bytes_received;
    return &who.app;
  }
};

std::string peer_key(const wire::Address& a) { return format_endpoint(a); }

void on_closed(uv_handle_t* handle) {
  auto* u = static_cast<InboundUdp*>(handle->data);
  if (--u->open_handles > 0) return;
  CloseEvent event;
  describe_peer(u->who, &event);
  event.dst = format_endpoint(u->real);
  event.listen = format_endpoint(u->bound);
  event.protocol = "udp";
  event.bytes_sent = u->bytes_sent;
  event.bytes_received = u->bytes_received;
  event.duration_ms = uv_now(u->d->loop) - u->started_ms;
  u->d->audit->record(event);
  u->d->limits.release(u->who.app);
  u->d->untrack(u);
  delete u;
}

void close_server(InboundUdp* u) {
  if (u->closing) return;
  u->closing = true;
  virtual_udp_servers_remove(u);
  *u->alive = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&u->app_poll), on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&u->udp), on_closed);
  close(u->fd);
}

void InboundUdp::stop() { close_server(this); }

// The cached verdict for `peer`, deciding (and auditing) it the first time.
template <typename Decide>
bool verdict(InboundUdp* u, std::map<std::string, bool>* cache, const wire::Address& peer, Decide decide) {
  if (u->verdicts_for != u->d->policies.get()) {
    u->inbound_verdicts.clear();
    u->outbound_verdicts.clear();
    u->verdicts_for = u->d->policies.get();
  }
  const std::string key = peer_key(peer);
  if (auto it = cache->find(key); it != cache->end()) return it->second;
  if (cache->size() >= u->d->config.udp_max_peers) cache->clear();  // bounded; deciding again is only slower
  const bool allow = decide();
  (*cache)[key] = allow;
  return allow;
}

bool admits(InboundUdp* u, const wire::Address& peer) {
  return verdict(u, &u->inbound_verdicts, peer, [&] {
    const policy::Decision decision = decide_peer(*u->d, u->who, u->bound, policy::Protocol::kUdp, peer);
    audit_inbound(*u->d, u->who, "accept", policy::Protocol::kUdp, u->bound, u->real, peer, decision);
    return decision.allow;
  });
}

bool admitted_before(InboundUdp* u, const wire::Address& peer) {
  auto admitted = u->inbound_verdicts.find(peer_key(peer));
  return admitted != u->inbound_verdicts.end() && admitted->second;
}

// A reply to an admitted peer needs no outbound rule; anything else does.
bool may_send(InboundUdp* u, const wire::Address& destination) {
  if (admitted_before(u, destination)) return true;
  return verdict(u, &u->outbound_verdicts, destination, [&] {
    const policy::Decision decision = decide_outbound(*u->d, u->who, destination, policy::Protocol::kUdp);
    audit_decision(*u->d, u->who, "sendto", destination, decision);
    return decision.allow;
  });
}

void on_app_readable(uv_poll_t* poll, int status, int /*events*/) {
  auto* u = static_cast<InboundUdp*>(poll->data);
  if (status < 0) return close_server(u);
  for (int i = 0; i < kBatch && !u->closing; ++i) {
    const ssize_t n = recv(u->fd, g_from_app, sizeof g_from_app, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return close_server(u);
    const auto size = static_cast<size_t>(n);
    wire::DatagramHeader header;
    std::memcpy(&header, g_from_app, std::min(size, kHeader));
    if (size < kHeader || size > kHeader + wire::kMaxDatagram ||
        (header.addr.family != AF_INET && header.addr.family != AF_INET6)) {
      log_message("pid %d (%s): closing UDP server association: malformed datagram", static_cast<int>(u->who.pid),
                  u->who.app.c_str());
      return close_server(u);
    }
    const wire::Address destination = normalize_address(header.addr);
    // A query of the server's own (not its reply to a peer) is answered here.
    if (!admitted_before(u, destination) && dns::daemon_answers(*u->d, u->who, destination)) {
      u->bytes_sent += size - kHeader;
      dns::answer_datagram(*u->d, u->who, u->alive, u->fd, destination,
                           {reinterpret_cast<const uint8_t*>(g_from_app) + kHeader, size - kHeader},
                           &u->bytes_received);
      continue;
    }
    if (!may_send(u, destination)) continue;
    sockaddr_storage address{};
    socklen_t length = 0;
    to_sockaddr(destination, &address, &length);
    if (u->real.family == AF_INET6 && destination.family == AF_INET) {  // a dual-stack socket wants v4-mapped
      sockaddr_in6 mapped{};
      mapped.sin6_family = AF_INET6;
      mapped.sin6_port = destination.port;
      mapped.sin6_addr.s6_addr[10] = mapped.sin6_addr.s6_addr[11] = 0xff;
      std::memcpy(&mapped.sin6_addr.s6_addr[12], destination.addr, 4);
      std::memcpy(&address, &mapped, sizeof mapped);
    }
    uv_buf_t buf = uv_buf_init(g_from_app + kHeader, static_cast<unsigned>(size - kHeader));
    if (uv_udp_try_send(&u->udp, &buf, 1, reinterpret_cast<const sockaddr*>(&address)) >= 0)
      u->bytes_sent += size - kHeader;
  }
}

void on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  *buf = uv_buf_init(g_to_app + kHeader, static_cast<unsigned>(sizeof g_to_app - kHeader));
}

void on_udp_recv(uv_udp_t* udp, ssize_t nread, const uv_buf_t* /*buf*/, const sockaddr* from, unsigned flags) {
  auto* u = static_cast<InboundUdp*>(udp->data);
  if (nread < 0 || from == nullptr || (flags & UV_UDP_PARTIAL)) return;
  const wire::Address source = normalize_address(from_sockaddr(from));
  if (!admits(u, source)) return;
  wire::DatagramHeader header{source};
  std::memcpy(g_to_app, &header, kHeader);
  const ssize_t sent = send(u->fd, g_to_app, kHeader + static_cast<size_t>(nread), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (sent < 0 && errno != EAGAIN && errno != ENOBUFS) return close_server(u);  // a full app drops, as UDP may
  if (sent > 0) u->bytes_received += static_cast<size_t>(nread);
}

void send_result(int fd, int error) {
  const wire::Reply reply = make_reply(wire::ReplyKind::kResult, error);
  send(fd, &reply, sizeof reply, MSG_DONTWAIT | MSG_NOSIGNAL);
}

// Binds the real socket on `expose`. Returns 0 or a (negative) libuv error.
int bind_real(InboundUdp* u, const policy::Endpoint& expose) {
  sockaddr_storage address{};
  expose.to_sockaddr(&address);
  int status = uv_udp_init_ex(u->d->loop, &u->udp, address.ss_family);
  if (status != 0) {
    uv_udp_init(u->d->loop, &u->udp);
    return status;
  }
  status = uv_udp_bind(&u->udp, reinterpret_cast<const sockaddr*>(&address), UV_UDP_REUSEADDR);
  if (status != 0) return status;
  sockaddr_storage bound{};
  int length = sizeof bound;
  uv_udp_getsockname(&u->udp, reinterpret_cast<sockaddr*>(&bound), &length);
  u->real = from_sockaddr(reinterpret_cast<const sockaddr*>(&bound));
  return 0;
}

}  // namespace

void inbound_udp_start(Daemon* d, int fd, PeerIdentity who, const wire::Request& request) {
  policy::InboundRule rule;
  policy::Decision decision;
  if (request.addr.family == AF_INET || request.addr.family == AF_INET6)
    decision = decide_listen(*d, who, request.addr, policy::Protocol::kUdp, &rule);
  else
    decision.reason = "bound association without an address";
  // No inbound rule for the bound address: a client that chose its source
  // port (dig -b, NTP, SIP). It gets a client association, as if unbound:
  // outbound rules per datagram, replies only from the peers it sent to, so
  // binding exposes nothing. Who may not ask at all is refused as a listen.
  policy::Decision refusal;
  if (!decision.allow && admitted_policy(*d, who, &refusal) != nullptr) {
    wire::Request client = request;
    client.addr = wire::Address{};
    return udp_association_start(d, fd, std::move(who), client);
  }
  std::string limit_reason;
  int error = decision.allow ? 0 : EACCES;
  if (decision.allow && !d->limits.acquire(who.app, &limit_reason)) {
    decision.allow = false;
    decision.reason = limit_reason;
    error = ENOBUFS;
  }
  if (error != 0) {
    audit_inbound(*d, who, "listen", policy::Protocol::kUdp,
                  request.addr, wire::Address{}, wire::Address{}, decision);
    send_result(fd, error);
    close(fd);
    return;
  }
  auto* u = new InboundUdp(d, fd, std::move(who), request.addr);
  d->track(u);
  uv_poll_init_socket(d->loop, &u->app_poll, fd);
  const int status = bind_real(u, rule.expose);
  u->app_poll.data = u->udp.data = u;
  u->open_handles = 2;
  if (status != 0) {
    decision.allow = false;
    decision.reason = "cannot bind " + rule.expose.to_string() + ": " + uv_strerror(status);
    audit_inbound(*d, u->who, "listen", policy::Protocol::kUdp,
                  u->bound, address_of(rule.expose), wire::Address{}, decision);
    send_result(fd, -status);
    return close_server(u);
  }
  audit_inbound(*d, u->who, "listen", policy::Protocol::kUdp, u->bound, u->real, wire::Address{}, decision);
  virtual_udp_servers_add(u, u->who.app, u->bound, u->real);
  send_result(fd, 0);
  uv_poll_start(&u->app_poll, UV_READABLE, on_app_readable);
  uv_udp_recv_start(&u->udp, on_alloc, on_udp_recv);
}

}  // namespace netleash::netleashd
