#include "netleashd/stream/inbound_listener.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "netleashd/daemon.h"
#include "netleashd/stream/inbound_connection.h"
#include "netleashd/decide/inbound_decisions.h"
#include "netleashd/stream/inbound_queue.h"
#include "netleashd/stream/inbound_registry.h"
#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {
namespace {

constexpr int kAcceptBatch = 64;      // per readiness callback, so one listener cannot hog the loop
constexpr uint64_t kBackoffMs = 100;  // after EMFILE/ENFILE

// Real listeners by app, `expose` address and virtual port, so that a
// second listen of the same app on that port can join one (see the header).
// Port-0 binds are not in it: each has a port of its own.
std::map<std::string, InboundListener*> g_shared;

std::string shared_key(const std::string& app, const policy::InboundRule& rule, const wire::Address& bound) {
  if (bound.port == 0) return "";
  return app + " " + rule.expose.to_string() + " " + std::to_string(ntohs(bound.port));
}

bool takes_v4(const AcceptQueue* q) { return q->bound.family == AF_INET || !(q->flags & wire::kFlagV6Only); }
bool takes_v6(const AcceptQueue* q) { return q->bound.family == AF_INET6; }

// May a socket with `request` join a listener that `existing` already uses?
bool may_share(const AcceptQueue* existing, const wire::Request& request, const AcceptQueue* joining) {
  const wire::Address a = normalize_address(existing->bound);
  const wire::Address b = normalize_address(request.addr);
  if (a.port != b.port || a.port == 0) return false;  // port-0 binds are each their own port
  const bool same_address = a.family == b.family && std::memcmp(a.addr, b.addr, 16) == 0;
  if (!same_address && !(is_unspecified(a) && is_unspecified(b))) return false;
  if ((existing->flags & wire::kFlagReusePort) && (request.flags & wire::kFlagReusePort)) return true;
  return !(takes_v4(existing) && takes_v4(joining)) && !(takes_v6(existing) && takes_v6(joining));
}

void send_result(int fd, int error) {
  const wire::Reply reply = make_reply(wire::ReplyKind::kResult, error);
  send(fd, &reply, sizeof reply, MSG_DONTWAIT | MSG_NOSIGNAL);
}

// Binds and listens on `expose`. Returns the fd or -errno.
int open_real(const policy::Endpoint& expose, const wire::Request& request, int backlog, wire::Address* real) {
  sockaddr_storage address{};
  const socklen_t length = expose.to_sockaddr(&address);
  const int fd = socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  const int on = 1;
  // A server restarted right after its connections closed must listen
  // again at once, whatever TIME_WAIT says.
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (address.ss_family == AF_INET6) {
    // On an `expose` of [::], take IPv4 peers only if the app's socket would.
    const int v6only = (request.flags & wire::kFlagV6Only) ? 1 : 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof bound;
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0 || listen(fd, backlog) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length) != 0) {
    const int err = errno;
    close(fd);
    return -err;
  }
  *real = from_sockaddr(reinterpret_cast<const sockaddr*>(&bound));
  return fd;
}

void on_handle_closed(uv_handle_t* handle) {
  auto* l = static_cast<InboundListener*>(handle->data);
  if (--l->open_handles > 0) return;
  delete l;
}

void close_listener(InboundListener* l) {
  if (l->closing) return;
  l->closing = true;
  if (!l->key.empty()) g_shared.erase(l->key);
  uv_close(reinterpret_cast<uv_handle_t*>(&l->poll), on_handle_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&l->backoff), on_handle_closed);
  close(l->fd);
}

// The queue for `peer`: one whose socket takes its family, with room if one
// has, in turn. nullptr when no socket of the app takes that family.
AcceptQueue* pick_queue(InboundListener* l, const wire::Address& peer) {
  const size_t n = l->queues.size();
  // The usual case: one socket, whose room the accept loop has just checked.
  if (n == 1) return accept_queue_takes(l->queues[0], peer) ? l->queues[0] : nullptr;
  AcceptQueue* fallback = nullptr;
  for (size_t i = 0; i < n; ++i) {
    AcceptQueue* q = l->queues[(l->next + i) % n];
    if (!accept_queue_takes(q, peer)) continue;
    if (accept_queue_has_room(q)) {
      l->next = (l->next + i + 1) % n;
      return q;
    }
    if (fallback == nullptr) fallback = q;
  }
  return fallback;
}

bool any_room(const InboundListener* l) {
  return std::any_of(l->queues.begin(), l->queues.end(), [](const AcceptQueue* q) { return accept_queue_has_room(q); });
}

void on_acceptable(uv_poll_t* poll, int status, int events);

void pause(InboundListener* l) {
  l->paused = true;
  uv_poll_stop(&l->poll);
  for (AcceptQueue* q : l->queues) accept_queue_watch_room(q, true);
}

// One real connection: decide, then hand it over or close it.
void admit(InboundListener* l, int fd, const wire::Address& peer) {
  AcceptQueue* q = inbound_listener_admit(l, peer, l->real, "");
  if (q == nullptr) {
    close(fd);
    return;
  }
  inbound_connection_start(l->d, q, fd, peer, l->real);
}

void on_backoff(uv_timer_t* timer) {
  auto* l = static_cast<InboundListener*>(timer->data);
  if (!l->paused) uv_poll_start(&l->poll, UV_READABLE, on_acceptable);
}

void on_acceptable(uv_poll_t* poll, int status, int /*events*/) {
  auto* l = static_cast<InboundListener*>(poll->data);
  if (status < 0) return;
  for (int i = 0; i < kAcceptBatch && !l->closing; ++i) {
    if (!any_room(l)) return pause(l);
    sockaddr_storage from{};
    socklen_t from_length = sizeof from;
    const int fd = accept4(l->fd, reinterpret_cast<sockaddr*>(&from), &from_length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      admit(l, fd, normalize_address(from_sockaddr(reinterpret_cast<const sockaddr*>(&from))));
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      log_message("accept on %s: %s; pausing for %llums", format_endpoint(l->real).c_str(), std::strerror(errno),
                  static_cast<unsigned long long>(kBackoffMs));
      uv_poll_stop(&l->poll);
      uv_timer_start(&l->backoff, on_backoff, kBackoffMs, 0);
    }
    return;
  }
}

// A new real listener for `q`. Returns 0 or an errno for the app.
int create_listener(Daemon* d, AcceptQueue* q, const policy::InboundRule& rule, const wire::Request& request,
                    const std::string& key) {
  auto* l = new InboundListener;
  l->d = d;
  const int fd = open_real(rule.expose, request, q->backlog, &l->real);
  if (fd < 0) {
    delete l;
    return -fd;
  }
  l->fd = fd;
  l->started_ms = uv_now(d->loop);
  uv_poll_init_socket(d->loop, &l->poll, fd);
  uv_timer_init(d->loop, &l->backoff);
  l->poll.data = l->backoff.data = l;
  l->open_handles = 2;
  l->key = key;
  if (!key.empty()) g_shared[key] = l;
  l->queues.push_back(q);
  q->listener = l;
  uv_poll_start(&l->poll, UV_READABLE, on_acceptable);
  return 0;
}

// Joins an existing listener on the same fixed address, or says why not.
int join_listener(InboundListener* l, AcceptQueue* q, const wire::Request& request) {
  for (const AcceptQueue* existing : l->queues)
    if (!may_share(existing, request, q)) return EADDRINUSE;
  l->queues.push_back(q);
  q->listener = l;
  return 0;
}

}  // namespace

void inbound_listen_start(Daemon* d, int fd, PeerIdentity who, const wire::Request& request) {
  policy::InboundRule rule;
  policy::Decision decision = decide_listen(*d, who, request.addr, policy::Protocol::kTcp, &rule);
  if (!decision.allow) {
    audit_inbound(*d, who, "listen", policy::Protocol::kTcp,
                  request.addr, wire::Address{}, wire::Address{}, decision);
    send_result(fd, EACCES);
    close(fd);
    return;
  }
  AcceptQueue* q = accept_queue_open(d, fd, std::move(who), request);
  int error;
  const std::string key = shared_key(q->who.app, rule, request.addr);
  auto shared = key.empty() ? g_shared.end() : g_shared.find(key);
  if (shared != g_shared.end())
    error = join_listener(shared->second, q, request);
  else
    error = create_listener(d, q, rule, request, key);
  wire::Address real = error == 0 ? q->listener->real : address_of(rule.expose);
  if (error != 0) {
    decision.allow = false;
    decision.reason = "cannot listen on " + format_endpoint(real) + ": " + std::strerror(error);
  }
  audit_inbound(*d, q->who, "listen", policy::Protocol::kTcp, request.addr, real, wire::Address{}, decision);
  if (error == 0) virtual_listeners_add(q);
  send_result(fd, error);
  if (error != 0) accept_queue_close(q);
}


AcceptQueue* inbound_listener_admit(InboundListener* l, const wire::Address& peer, const wire::Address& dst,
                                    const std::string& joined) {
  Daemon& d = *l->d;
  AcceptQueue* q = pick_queue(l, peer);
  AcceptQueue* who_from = q != nullptr ? q : l->queues.front();
  policy::Decision decision = decide_peer(d, who_from->who, who_from->bound, policy::Protocol::kTcp, peer);
  std::string limit_reason;
  if (decision.allow && q == nullptr) {
    decision.allow = false;
    decision.reason = peer.family == AF_INET ? "no listening socket of the app takes IPv4 peers"
                                             : "no listening socket of the app takes IPv6 peers";
  } else if (decision.allow && !d.limits.acquire(q->who.app, &limit_reason)) {
    decision.allow = false;
    decision.reason = limit_reason;
  }
  audit_inbound(d, who_from->who, "accept", policy::Protocol::kTcp, who_from->bound, dst, peer, decision, joined);
  return decision.allow ? q : nullptr;
}

void inbound_listener_room(InboundListener* l) {
  if (l == nullptr || l->closing || !l->paused) return;
  l->paused = false;
  for (AcceptQueue* q : l->queues) accept_queue_watch_room(q, false);
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&l->backoff))) uv_poll_start(&l->poll, UV_READABLE, on_acceptable);
}

void inbound_listener_detach(InboundListener* l, AcceptQueue* q) {
  l->queues.erase(std::remove(l->queues.begin(), l->queues.end(), q), l->queues.end());
  if (!l->queues.empty()) {
    l->next = 0;
    return;
  }
  CloseEvent event;
  describe_peer(q->who, &event);
  event.dst = format_endpoint(l->real);
  event.listen = format_endpoint(q->bound);
  event.duration_ms = uv_now(l->d->loop) - l->started_ms;
  l->d->audit->record(event);
  close_listener(l);
}

}  // namespace netleash::netleashd
