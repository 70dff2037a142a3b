#include "netleashd/tunnel/tunnel_dialer.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "netleashd/intake/connect_replies.h"
#include "netleashd/daemon.h"
#include "netleashd/decide/decisions.h"
#include "netleashd/tunnel/tunnel_links.h"
#include "netleashd/tunnel/tunnel_protocol.h"
#include "netleashd/tunnel/tunnel_relay.h"
#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {
namespace {

// kDialing: TCP connect + handshake (handshake timeout). kWaiting: request
// sent, the peer connects (its connect timeout, ours as a backstop).
// kDraining: the peer refused; close records both ways. Then kRelaying.
enum class State { kDialing, kWaiting, kDraining, kRelaying, kClosing };

struct Dialer final : Tracked, LinkEvents {
  Daemon* d;
  PeerIdentity who;
  const TunnelPeer* peer;
  wire::Address destination;
  uint32_t padding;
  int fd;  // the app's socket; the pipe handle owns it once relaying
  State state = State::kDialing;
  TunnelLink link;
  uv_timer_t timer{};
  uv_poll_t hangup_watch{};
  uv_connect_t connect_req{};
  uv_pipe_t app{};
  int open_handles = 0;
  tunnel::Bytes inbox;  // plaintext before the relay: the result, then early data
  std::optional<TunnelRelay> relay;
  std::string end_error;
  uint64_t started_ms;

  Dialer(Daemon* daemon, int client, PeerIdentity identity, const TunnelPeer* via,
         const wire::Request& request)
      : d(daemon),
        who(std::move(identity)),
        peer(via),
        destination(normalize_address(request.addr)),
        padding(request.length - static_cast<uint32_t>(sizeof(wire::Request))),
        fd(client),
        started_ms(uv_now(daemon->loop)) {}

  void stop() override { finish("daemon stopping"); }
  const std::string* live_bytes(uint64_t* sent, uint64_t* received) const override {
    if (!relay) return nullptr;
    *sent = relay->bytes_to_link();
    *received = relay->bytes_from_link();
    return &who.app;
  }
  void finish(const std::string& error);
  void fail_setup(int error, const std::string& reason);
  void handle_result();

  void link_established() override;
  void link_data(tunnel::ByteView data) override;
  void link_peer_closed() override {}
  void link_drained() override {}
  void link_finished() override { finish(""); }
  void link_failed(const std::string& reason) override;
};

void on_closed(uv_handle_t* handle) {
  auto* s = static_cast<Dialer*>(handle->data);
  if (--s->open_handles > 0) return;
  CloseEvent event;
  describe_peer(s->who, &event);
  event.dst = format_endpoint(s->destination);
  event.via = s->peer->name;
  event.error = s->end_error;
  if (s->relay) {
    event.bytes_sent = s->relay->bytes_to_link();
    event.bytes_received = s->relay->bytes_from_link();
  }
  event.duration_ms = uv_now(s->d->loop) - s->started_ms;
  s->d->audit->record(event);
  s->d->limits.release(s->who.app);
  s->d->untrack(s);
  delete s;
}

void close_handle(uv_handle_t* handle, Dialer* s) {
  if (uv_is_closing(handle)) return;
  handle->data = s;
  uv_close(handle, on_closed);
}

void Dialer::finish(const std::string& error) {
  if (state == State::kClosing) return;
  const bool relaying = state == State::kRelaying;
  state = State::kClosing;
  if (end_error.empty()) end_error = error;
  close_handle(reinterpret_cast<uv_handle_t*>(&timer), this);
  link.socket.data = this;
  link_close(&link, !error.empty(), on_closed);
  if (relaying) {
    // A Unix stream has no reset: the app sees its connection end.
    close_handle(reinterpret_cast<uv_handle_t*>(&app), this);
  } else {
    close_handle(reinterpret_cast<uv_handle_t*>(&hangup_watch), this);
    if (fd >= 0) close(fd);
    fd = -1;
  }
}

// Before the relay: the app's connect fails with `error`, and the log says why.
void Dialer::fail_setup(int error, const std::string& reason) {
  log_message("tunnel to %s (%s) for app %s: %s", peer->name.c_str(),
              peer->address.to_string().c_str(), who.app.c_str(), reason.c_str());
  if (fd >= 0) send_failed_result(fd, padding, error);
  finish(reason);
}

void on_timeout(uv_timer_t* timer) {
  auto* s = static_cast<Dialer*>(timer->data);
  if (s->state == State::kDraining) return s->finish("");
  s->fail_setup(ETIMEDOUT, s->state == State::kDialing ? "handshake timed out"
                                                         : "no result from the peer in time");
}

void on_hangup(uv_poll_t* poll, int /*status*/, int /*events*/) {
  static_cast<Dialer*>(poll->data)->finish("app closed the connection while connecting");
}

void on_dialed(uv_connect_t* req, int status) {
  auto* s = static_cast<Dialer*>(req->data);
  if (s->state != State::kDialing) return;
  // The peer daemon is not there (down, restarting, wrong address): to the
  // app the network path to its destination is unavailable.
  if (status < 0) return s->fail_setup(ENETUNREACH, std::string("dial: ") + uv_strerror(status));
  TunnelLinks& links = *s->d->tunnel;
  s->link.connection.emplace(
      tunnel::TunnelConnection::initiator(links.key, s->peer->public_key, links.clock.next()));
  link_start(&s->link);
}

void Dialer::link_established() {
  LinkRequest request;
  sockaddr_storage storage{};
  socklen_t length = 0;
  to_sockaddr(destination, &storage, &length);
  request.destination = *policy::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&storage), length);
  request.app = who.app;
  state = State::kWaiting;
  link_send(&link, encode_link_request(request));
  uv_timer_start(&timer, on_timeout,
                 uint64_t{d->config.connect_timeout_ms} + d->tunnel->config->handshake_timeout_ms, 0);
}

void Dialer::handle_result() {
  if (inbox.size() < kLinkResultSize) return;
  const std::optional<int> error =
      decode_link_result(tunnel::ByteView(inbox.data(), kLinkResultSize));
  if (!error) return fail_setup(ENETUNREACH, "malformed result from the peer");
  inbox.erase(inbox.begin(), inbox.begin() + kLinkResultSize);
  if (*error != 0) {
    // The peer refused (EACCES: its tunnel_ingress) or its connect failed.
    send_failed_result(fd, padding, *error);
    close_handle(reinterpret_cast<uv_handle_t*>(&hangup_watch), this);
    close(fd);
    fd = -1;
    end_error = "peer: " + std::string(strerror(*error));
    state = State::kDraining;
    return link_send_close(&link);
  }
  // As in tcp_session.cc: a padded connect gets its Result ahead of the data.
  if (padding == 0 && !send_reply(fd, wire::ReplyKind::kResult, 0)) return finish("app went away");
  uv_timer_stop(&timer);
  close_handle(reinterpret_cast<uv_handle_t*>(&hangup_watch), this);
  uv_pipe_init(d->loop, &app, 0);
  ++open_handles;
  state = State::kRelaying;
  if (uv_pipe_open(&app, fd) != 0) return finish("cannot watch the app's socket");
  fd = -1;
  Watermarks marks{d->config.high_water, d->config.low_water};
  relay.emplace(reinterpret_cast<uv_stream_t*>(&app), &link, marks, padding,
                [](TunnelRelay* r, const std::string& why) {
                  static_cast<Dialer*>(r->owner())->finish(why);
                },
                this);
  if (padding > 0) relay->owe_result();
  const tunnel::Bytes early = std::move(inbox);
  relay->start(early);
}

void Dialer::link_data(tunnel::ByteView data) {
  if (state != State::kWaiting) return;
  inbox.insert(inbox.end(), data.begin(), data.end());
  handle_result();
}

void Dialer::link_failed(const std::string& reason) {
  if (state == State::kDialing || state == State::kWaiting) return fail_setup(ENETUNREACH, reason);
  finish(state == State::kDraining ? "" : reason);
}

}  // namespace

void tunnel_dial_start(Daemon* d, int fd, PeerIdentity who, const wire::Request& request,
                       policy::Decision decision) {
  const wire::Address destination = normalize_address(request.addr);
  const TunnelPeer* peer = d->tunnel ? d->tunnel->config->find_peer(decision.via) : nullptr;
  std::string limit_reason;
  int verdict = 0;
  if (peer == nullptr) {
    decision.allow = false;
    decision.reason = "rule " + std::to_string(*decision.rule) + " tunnels via \"" + decision.via +
                      (d->tunnel ? "\", which is not a configured peer"
                                 : "\", and this daemon has no tunnel key configured");
    verdict = ENETUNREACH;
  } else if (!d->limits.acquire(who.app, &limit_reason)) {
    decision.allow = false;
    decision.reason = limit_reason;
    verdict = ENOBUFS;
  }
  audit_decision(*d, who, "connect", destination, decision);
  if (!send_reply(fd, wire::ReplyKind::kVerdict, verdict) || verdict != 0) {
    if (verdict == 0) d->limits.release(who.app);
    close(fd);
    return;
  }
  auto* s = new Dialer(d, fd, std::move(who), peer, request);
  d->track(s);
  d->stats.opened(s->who.app, Stats::Kind::kOutboundTcp);  // its close line is unconditional
  uv_loop_t* loop = d->loop;
  uv_tcp_init(loop, &s->link.socket);
  uv_timer_init(loop, &s->timer);
  uv_poll_init_socket(loop, &s->hangup_watch, fd);
  s->open_handles = 3;
  s->timer.data = s->hangup_watch.data = s->connect_req.data = s;
  s->link.events = s;
  s->link.marks = Watermarks{d->config.high_water, d->config.low_water};
  sockaddr_storage address{};
  peer->address.to_sockaddr(&address);
  const int status = uv_tcp_connect(&s->connect_req, &s->link.socket,
                                    reinterpret_cast<const sockaddr*>(&address), on_dialed);
  if (status < 0) return s->fail_setup(ENETUNREACH, std::string("dial: ") + uv_strerror(status));
  uv_timer_start(&s->timer, on_timeout, d->tunnel->config->handshake_timeout_ms, 0);
  uv_poll_start(&s->hangup_watch, UV_DISCONNECT, on_hangup);
}

}  // namespace netleash::netleashd
