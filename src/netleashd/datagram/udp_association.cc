#include "netleashd/datagram/udp_association.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <string>

#include "netleashd/daemon.h"
#include "netleashd/decide/decisions.h"
#include "netleashd/dns/answer.h"
#include "netleashd/stream/inbound_registry.h"
#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {
namespace {

constexpr size_t kHeader = sizeof(wire::DatagramHeader);
// Packets handled per readiness callback before yielding to other clients.
constexpr int kBatch = 32;

// Loop-wide buffers: one datagram at a time is in hand, in either direction.
// One spare byte so MSG_TRUNC can reveal an oversized packet.
char g_from_app[kHeader + wire::kMaxDatagram + 1];
char g_to_app[kHeader + 65536];

struct UdpAssociation final : Tracked {
  Daemon* d;
  PeerIdentity who;
  int fd;
  wire::Address default_peer;  // family 0: none
  int open_handles = 0;
  bool closing = false;
  bool dual_stack = false;  // the real socket is AF_INET6 and takes IPv4 peers as v4-mapped
  uint64_t started_ms;
  uint64_t last_activity_ms;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  // Destinations the app sent to (allowed), oldest first, bounded.
  std::deque<std::string> peer_order;
  std::set<std::string> peers;
  std::set<std::string> denied_audited;  // bounded like peers
  // Leashed UDP servers the app sent to at their virtual addresses: real
  // address (peer_key) -> virtual one, so replies come from where the app
  // sent. Bounded like peers.
  std::map<std::string, wire::Address> virtual_of;
  dns::Liveness alive = std::make_shared<bool>(true);  // for DNS answers still being looked up
  uv_poll_t app_poll{};
  uv_udp_t udp{};
  uv_timer_t idle{};

  UdpAssociation(Daemon* daemon, int client, PeerIdentity peer, const wire::Address& default_to)
      : d(daemon),
        who(std::move(peer)),
        fd(client),
        default_peer(default_to),
        started_ms(uv_now(daemon->loop)),
        last_activity_ms(started_ms) {}

  void stop() override;
};

// Peers are compared as (family, address, port) bytes.
std::string peer_key(const wire::Address& a) {
  return std::string(reinterpret_cast<const char*>(&a.family), sizeof a.family) +
         std::string(reinterpret_cast<const char*>(&a.port), sizeof a.port) +
         std::string(reinterpret_cast<const char*>(a.addr), a.family == AF_INET ? 4 : 16);
}

void on_closed(uv_handle_t* handle) {
  auto* a = static_cast<UdpAssociation*>(handle->data);
  if (--a->open_handles > 0) return;
  CloseEvent event;
  describe_peer(a->who, &event);
  event.dst = format_endpoint(a->default_peer);
  event.protocol = "udp";
  event.bytes_sent = a->bytes_sent;
  event.bytes_received = a->bytes_received;
  event.duration_ms = uv_now(a->d->loop) - a->started_ms;
  a->d->audit->record(event);
  a->d->limits.release(a->who.app);
  a->d->untrack(a);
  delete a;
}

void close_association(UdpAssociation* a) {
  if (a->closing) return;
  a->closing = true;
  *a->alive = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&a->app_poll), on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&a->udp), on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&a->idle), on_closed);
  close(a->fd);
}

void UdpAssociation::stop() { close_association(this); }

void remember(UdpAssociation* a, std::set<std::string>* set, const std::string& key) {
  if (set->size() >= a->d->config.udp_max_peers) set->clear();
  set->insert(key);
}

void remember_peer(UdpAssociation* a, const std::string& key) {
  if (a->peers.count(key)) return;
  if (a->peers.size() >= a->d->config.udp_max_peers) {
    a->peers.erase(a->peer_order.front());
    a->peer_order.pop_front();
  }
  a->peers.insert(key);
  a->peer_order.push_back(key);
}

// IPv4 peers are written as v4-mapped IPv6 addresses on a dual-stack socket.
void to_socket_address(bool dual_stack, const wire::Address& peer, sockaddr_storage* out) {
  socklen_t length = 0;
  to_sockaddr(peer, out, &length);
  if (!dual_stack || peer.family != AF_INET) return;
  sockaddr_in6 mapped{};
  mapped.sin6_family = AF_INET6;
  mapped.sin6_port = peer.port;
  mapped.sin6_addr.s6_addr[10] = mapped.sin6_addr.s6_addr[11] = 0xff;
  std::memcpy(&mapped.sin6_addr.s6_addr[12], peer.addr, 4);
  std::memcpy(out, &mapped, sizeof mapped);
}

// One well-formed datagram from the app (in g_from_app): checked against
// policy every time, sent if allowed, dropped (and audited once) if not.
void send_upstream(UdpAssociation* a, const wire::Address& destination, size_t size) {
  if (dns::daemon_answers(*a->d, a->who, destination)) {
    a->bytes_sent += size - kHeader;
    return dns::answer_datagram(*a->d, a->who, a->alive, a->fd, destination,
                                {reinterpret_cast<const uint8_t*>(g_from_app) + kHeader, size - kHeader},
                                &a->bytes_received);
  }
  const std::string key = peer_key(destination);
  const policy::Decision decision = decide_outbound(*a->d, a->who, destination, policy::Protocol::kUdp);
  // Audited once per destination and verdict, not per datagram.
  if (!decision.allow) {
    if (!a->denied_audited.count(key)) {
      audit_decision(*a->d, a->who, "sendto", destination, decision);
      remember(a, &a->denied_audited, key);
    }
    return;
  }
  // Nothing really receives at a leashed UDP server's virtual address: send
  // to its real one, whose `from` then decides (inbound_udp).
  const wire::Address real = virtual_udp_server_for(a->who.app, destination);
  if (!a->peers.count(key)) {
    audit_decision(*a->d, a->who, "sendto", destination, decision);
    remember_peer(a, key);
  }
  if (real.family != 0) {
    if (a->virtual_of.size() >= a->d->config.udp_max_peers) a->virtual_of.clear();
    a->virtual_of[peer_key(normalize_address(real))] = destination;
  }
  sockaddr_storage address{};
  to_socket_address(a->dual_stack, real.family != 0 ? normalize_address(real) : destination, &address);
  uv_buf_t buf = uv_buf_init(g_from_app + kHeader, static_cast<unsigned>(size - kHeader));
  if (uv_udp_try_send(&a->udp, &buf, 1, reinterpret_cast<const sockaddr*>(&address)) >= 0)
    a->bytes_sent += size - kHeader;
}

void on_app_readable(uv_poll_t* poll, int status, int /*events*/) {
  auto* a = static_cast<UdpAssociation*>(poll->data);
  if (status < 0) return close_association(a);
  for (int i = 0; i < kBatch && !a->closing; ++i) {
    const ssize_t n = recv(a->fd, g_from_app, sizeof g_from_app, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return close_association(a);
    a->last_activity_ms = uv_now(a->d->loop);
    wire::Address destination{};
    const auto size = static_cast<size_t>(n);
    if (const char* problem = decode_datagram(g_from_app, size, a->default_peer, &destination)) {
      log_message("pid %d (%s): closing UDP association: %s", static_cast<int>(a->who.pid),
                  a->who.app.c_str(), problem);
      return close_association(a);
    }
    send_upstream(a, destination, size);
  }
}

void on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  *buf = uv_buf_init(g_to_app + kHeader, static_cast<unsigned>(sizeof g_to_app - kHeader));
}

void on_udp_recv(uv_udp_t* udp, ssize_t nread, const uv_buf_t* /*buf*/, const sockaddr* from,
                 unsigned flags) {
  auto* a = static_cast<UdpAssociation*>(udp->data);
  if (nread < 0 || from == nullptr || (flags & UV_UDP_PARTIAL)) return;
  wire::Address source = normalize_address(from_sockaddr(from));
  if (auto it = a->virtual_of.find(peer_key(source)); it != a->virtual_of.end()) source = it->second;
  if (!a->peers.count(peer_key(source))) return;  // not a peer the app sent to
  wire::DatagramHeader header{source};
  std::memcpy(g_to_app, &header, kHeader);
  const size_t size = kHeader + static_cast<size_t>(nread);
  const ssize_t sent = send(a->fd, g_to_app, size, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (sent < 0 && errno != EAGAIN && errno != ENOBUFS) return close_association(a);
  if (sent > 0) a->bytes_received += static_cast<size_t>(nread);
  a->last_activity_ms = uv_now(a->d->loop);
}

void on_idle_check(uv_timer_t* timer) {
  auto* a = static_cast<UdpAssociation*>(timer->data);
  if (uv_now(a->d->loop) - a->last_activity_ms >= a->d->config.udp_idle_timeout_ms)
    close_association(a);
}

// A dual-stack socket if the host has IPv6, else IPv4 only.
int open_udp(uv_loop_t* loop, uv_udp_t* udp, bool* dual_stack) {
  sockaddr_in6 any6{};
  any6.sin6_family = AF_INET6;
  if (uv_udp_init_ex(loop, udp, AF_INET6) == 0) {
    *dual_stack = true;
    // Explicitly, whatever net.ipv6.bindv6only says.
    int fd = -1;
    const int off = 0;
    uv_fileno(reinterpret_cast<const uv_handle_t*>(udp), &fd);
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    return uv_udp_bind(udp, reinterpret_cast<const sockaddr*>(&any6), 0);  // the caller closes it on error
  }
  sockaddr_in any4{};
  any4.sin_family = AF_INET;
  uv_udp_init(loop, udp);
  return uv_udp_bind(udp, reinterpret_cast<const sockaddr*>(&any4), 0);
}

void send_result(int fd, int error, uint16_t flags) {
  wire::Reply reply = make_reply(wire::ReplyKind::kResult, error);
  reply.flags = flags;
  send(fd, &reply, sizeof reply, MSG_DONTWAIT | MSG_NOSIGNAL);
}

}  // namespace

void udp_association_start(Daemon* d, int fd, PeerIdentity who, const wire::Request& request) {
  const wire::Address default_peer = normalize_address(request.addr);
  policy::Decision decision;
  if (default_peer.family != 0) {
    decision = dns::daemon_answers(*d, who, default_peer)
                   ? dns::answered_here()
                   : decide_outbound(*d, who, default_peer, policy::Protocol::kUdp);
  } else {
    // No destination yet: only whether this app may use UDP at all.
    if (who.app.empty()) {
      decision.reason = who.failure;
    } else if (d->policies->find(who.app) == nullptr) {
      decision = policy::no_policy(who.app);
    } else {
      decision.allow = true;
    }
  }
  std::string limit_reason;
  int error = decision.allow ? 0 : EACCES;
  if (decision.allow && !d->limits.acquire(who.app, &limit_reason)) {
    decision.allow = false;
    decision.reason = limit_reason;
    error = ENOBUFS;
  }
  if (default_peer.family != 0 || !decision.allow)
    audit_decision(*d, who, "sendto", default_peer, decision);
  if (error != 0) {
    send_result(fd, error, 0);
    close(fd);
    return;
  }
  // A bound request that reached here had no inbound rule (inbound_udp.cc):
  // the shim learns that its socket is a client.
  const uint16_t flags = (request.flags & wire::kFlagBound) ? wire::kReplyClient : 0;
  auto* a = new UdpAssociation(d, fd, std::move(who), default_peer);
  d->track(a);
  d->stats.opened(a->who.app, Stats::Kind::kUdp);
  if (default_peer.family != 0) remember_peer(a, peer_key(default_peer));
  uv_poll_init_socket(d->loop, &a->app_poll, fd);
  uv_timer_init(d->loop, &a->idle);
  const int status = open_udp(d->loop, &a->udp, &a->dual_stack);
  a->app_poll.data = a->udp.data = a->idle.data = a;
  a->open_handles = 3;
  if (status != 0) {
    send_result(fd, -status, 0);
    return close_association(a);
  }
  send_result(fd, 0, flags);
  uv_poll_start(&a->app_poll, UV_READABLE, on_app_readable);
  uv_udp_recv_start(&a->udp, on_alloc, on_udp_recv);
  const uint64_t period = d->config.udp_idle_timeout_ms / 4 + 1;
  uv_timer_start(&a->idle, on_idle_check, period, period);
}

}  // namespace netleash::netleashd
