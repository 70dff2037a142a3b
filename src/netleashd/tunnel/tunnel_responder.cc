#include "netleashd/tunnel/tunnel_responder.h"

#include <cerrno>
#include <optional>

#include "netleashd/daemon.h"
#include "netleashd/stream/tcp_session.h"
#include "netleashd/tunnel/tunnel_audit.h"
#include "netleashd/tunnel/tunnel_links.h"
#include "netleashd/tunnel/tunnel_protocol.h"
#include "netleashd/tunnel/tunnel_relay.h"

namespace netleash::netleashd {
namespace {

// kHandshake: until the request is read (handshake timeout). kConnecting:
// upstream connect (connect timeout). kRefusing: result sent, waiting for the
// close records. kRelaying, then kClosing.
enum class State { kHandshake, kConnecting, kRefusing, kRelaying, kClosing };

struct Responder final : Tracked, LinkEvents {
  Daemon* d;
  State state = State::kHandshake;
  TunnelLink link;
  uv_timer_t timer{};
  uv_tcp_t upstream{};
  uv_connect_t connect_req{};
  bool upstream_open = false;
  bool timed_out = false;
  int open_handles = 0;
  std::string src;   // the tunnel's remote address
  std::string peer;  // its name, once authenticated
  std::optional<LinkRequest> request;
  std::string limit_key;  // set while holding a connection slot
  tunnel::Bytes inbox;    // plaintext before the relay: request, then early data
  std::string end_error;  // why a relayed connection ended abnormally
  std::optional<TunnelRelay> relay;
  uint64_t started_ms;

  explicit Responder(Daemon* daemon) : d(daemon), started_ms(uv_now(daemon->loop)) {}

  // Leaves the handshake phase: one slot of TunnelLinks::handshaking less.
  void set_state(State to) {
    if (state == State::kHandshake && to != State::kHandshake && d->tunnel != nullptr)
      --d->tunnel->handshaking;
    state = to;
  }

  void stop() override { finish("daemon stopping"); }
  void finish(const std::string& error);
  void refuse(int error);
  void handle_request();

  void link_established() override;
  void link_data(tunnel::ByteView data) override;
  void link_peer_closed() override {}
  void link_drained() override {}
  void link_finished() override { finish(""); }
  void link_failed(const std::string& reason) override;
};

void on_closed(uv_handle_t* handle) {
  auto* r = static_cast<Responder*>(handle->data);
  if (--r->open_handles > 0) return;
  if (r->relay) {
    CloseEvent event;
    event.app = r->request->app;
    event.dst = r->request->destination.to_string();
    event.src = r->src;
    event.peer = r->peer;
    event.bytes_sent = r->relay->bytes_from_link();
    event.bytes_received = r->relay->bytes_to_link();
    event.duration_ms = uv_now(r->d->loop) - r->started_ms;
    event.error = r->end_error;
    r->d->audit->record(event);
  }
  if (!r->limit_key.empty()) r->d->limits.release(r->limit_key);
  r->d->untrack(r);
  delete r;
}

void close_handle(uv_handle_t* handle, Responder* r) {
  if (uv_is_closing(handle)) return;
  handle->data = r;
  uv_close(handle, on_closed);
}

// Ends the session. A non-empty error resets both TCP connections: a broken
// tunnel must not look like a finished connection to the server, nor the other way.
void Responder::finish(const std::string& error) {
  if (state == State::kClosing) return;
  const bool broken = !error.empty() && state == State::kRelaying;
  set_state(State::kClosing);
  end_error = error;
  close_handle(reinterpret_cast<uv_handle_t*>(&timer), this);
  link.socket.data = this;
  link_close(&link, !error.empty(), on_closed);
  if (upstream_open) {
    upstream.data = this;
    if (!broken || uv_tcp_close_reset(&upstream, on_closed) != 0)
      close_handle(reinterpret_cast<uv_handle_t*>(&upstream), this);
  }
  if (relay && !error.empty()) log_message("tunnel from %s (%s) ended: %s", src.c_str(), peer.c_str(), error.c_str());
}

void on_timeout(uv_timer_t* timer) {
  auto* r = static_cast<Responder*>(timer->data);
  if (r->state == State::kConnecting) {
    r->timed_out = true;
    close_handle(reinterpret_cast<uv_handle_t*>(&r->upstream), r);  // on_connect sees ECANCELED
    r->upstream_open = false;
    return r->refuse(ETIMEDOUT);
  }
  if (r->state == State::kHandshake) {
    audit_tunnel_refusal(*r->d, r->src, r->peer,
                         r->peer.empty() ? "handshake timed out" : "request timed out");
  }
  r->finish("timed out");
}

// The connect failed or was refused: the result says why, then both close.
void Responder::refuse(int error) {
  set_state(State::kRefusing);
  link_resume(&link);
  link_send(&link, encode_link_result(error));
  link_send_close(&link);
}

void on_upstream_connect(uv_connect_t* req, int status) {
  auto* r = static_cast<Responder*>(req->data);
  if (r->state != State::kConnecting) return;
  if (status < 0) return r->refuse(connect_errno(status, r->timed_out));
  uv_timer_stop(&r->timer);
  link_send(&r->link, encode_link_result(0));
  if (r->state == State::kClosing) return;
  r->set_state(State::kRelaying);
  Watermarks marks{r->d->config.high_water, r->d->config.low_water};
  r->relay.emplace(reinterpret_cast<uv_stream_t*>(&r->upstream), &r->link, marks, 0,
                   [](TunnelRelay* relay, const std::string& error) {
                     static_cast<Responder*>(relay->owner())->finish(error);
                   },
                   r);
  link_resume(&r->link);
  const tunnel::Bytes early = std::move(r->inbox);
  r->relay->start(early);
}

void start_upstream(Responder* r) {
  sockaddr_storage address{};
  r->request->destination.to_sockaddr(&address);
  uv_loop_t* loop = r->d->loop;
  if (uv_tcp_init_ex(loop, &r->upstream, address.ss_family) != 0) uv_tcp_init(loop, &r->upstream);
  r->upstream_open = true;
  ++r->open_handles;
  r->upstream.data = r;
  uv_tcp_nodelay(&r->upstream, 1);
  r->connect_req.data = r;
  r->set_state(State::kConnecting);
  link_pause(&r->link);  // early data waits in the kernel until the relay runs
  const int status = uv_tcp_connect(&r->connect_req, &r->upstream,
                                    reinterpret_cast<const sockaddr*>(&address), on_upstream_connect);
  if (status < 0) return r->refuse(connect_errno(status, false));
  uv_timer_start(&r->timer, on_timeout, r->d->config.connect_timeout_ms, 0);
}

void Responder::handle_request() {
  size_t consumed = 0;
  std::string malformed;
  request = decode_link_request(inbox, &consumed, &malformed);
  if (!request) {
    if (malformed.empty()) return;  // more bytes to come
    audit_tunnel_refusal(*d, src, peer, "malformed request: " + malformed);
    return finish("malformed request");
  }
  inbox.erase(inbox.begin(), inbox.begin() + static_cast<std::ptrdiff_t>(consumed));
  policy::Decision decision = decide_tunnel_ingress(*d->tunnel->config, peer, request->destination);
  std::string limit_reason;
  const std::string key = "tunnel peer " + peer;
  int error = decision.allow ? 0 : EACCES;
  if (decision.allow && !d->limits.acquire(key, &limit_reason)) {
    decision.allow = false;
    decision.reason = limit_reason;
    error = ENOBUFS;
  }
  audit_tunnel_ingress(*d, peer, request->app, src, request->destination.to_string(), decision);
  if (error != 0) return refuse(error);
  limit_key = key;
  start_upstream(this);
}

void Responder::link_established() {
  const TunnelPeer* known = d->tunnel->config->find_peer(link.connection->peer());
  peer = known != nullptr ? known->name : "?";  // the guard admits configured keys only
}

void Responder::link_data(tunnel::ByteView data) {
  if (state != State::kHandshake) return;  // after a refusal the peer has nothing to say
  inbox.insert(inbox.end(), data.begin(), data.end());
  handle_request();
}

void Responder::link_failed(const std::string& reason) {
  if (state == State::kHandshake) audit_tunnel_refusal(*d, src, peer, reason);
  finish(reason);
}

}  // namespace

void tunnel_responder_accept(Daemon* d, uv_stream_t* server) {
  if (d->tunnel == nullptr) return;
  auto* r = new Responder(d);
  ++d->tunnel->handshaking;
  uv_tcp_init(d->loop, &r->link.socket);
  uv_timer_init(d->loop, &r->timer);
  r->timer.data = r;
  r->open_handles = 2;
  d->track(r);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&r->link.socket)) != 0)
    return r->finish("accept failed");
  r->src = link_peer_address(&r->link);
  if (d->tunnel->handshaking > d->config.max_pending) {
    audit_tunnel_refusal(*d, r->src, "", "too many tunnels in their handshake (max_pending)");
    return r->finish("too many handshakes");
  }
  r->link.connection.emplace(tunnel::TunnelConnection::responder(d->tunnel->key, d->tunnel->guard));
  r->link.events = r;
  r->link.marks = Watermarks{d->config.high_water, d->config.low_water};
  uv_timer_start(&r->timer, on_timeout, d->tunnel->config->handshake_timeout_ms, 0);
  link_start(&r->link);
}

}  // namespace netleash::netleashd
