#include "netleashd/stream/tcp_session.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "netleashd/intake/connect_replies.h"
#include "netleashd/daemon.h"
#include "netleashd/decide/decisions.h"
#include "netleashd/dns/answer.h"
#include "netleashd/dns/stream.h"
#include "netleashd/stream/inbound_join.h"
#include "netleashd/stream/inbound_queue.h"
#include "netleashd/stream/inbound_registry.h"
#include "netleashd/stream/relay.h"
#include "netleashd/tunnel/tunnel_dialer.h"
#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {
namespace {

enum class State { kConnecting, kRelaying, kClosing };

// Most connects (loopback, LAN) finish well within this; only a slower one
// gets the poll handle that notices the app giving up, so a fast connect
// costs no handle switch on the app's fd before the relay takes it.
constexpr uint64_t kHangupWatchAfterMs = 50;

struct TcpSession final : Tracked {
  Daemon* d;
  PeerIdentity who;
  wire::Address destination;
  wire::SocketOptions options;
  uint32_t padding;
  int fd;  // the app's socket; raw until the relay wraps it in `app`
  State state = State::kConnecting;
  bool relayed = false;  // reached the relay: its end gets a close audit line
  bool timed_out = false;
  bool watching_hangup = false;  // hangup_watch is initialised
  std::string joined_app;        // joined to a leashed listener of this app (inbound_join)
  JoinedEnd* joined = nullptr;   // that listener's side, once it took the connection
  uint64_t started_ms;
  int open_handles = 0;
  uv_poll_t hangup_watch{};  // notices the app hanging up while we connect
  // A real TCP connection, or a socketpair to the daemon's DNS answerer
  // (dns/stream.h) or to a leashed listener (inbound_join); either is a
  // stream to the relay.
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } upstream{};
  uv_connect_t connect_req{};
  uv_timer_t connect_timer{};
  uv_pipe_t app{};
  Relay relay;

  TcpSession(Daemon* daemon, int client, PeerIdentity peer, const wire::Request& request)
      : d(daemon),
        who(std::move(peer)),
        destination(normalize_address(request.addr)),
        options(request.options),
        padding(request.length - static_cast<uint32_t>(sizeof(wire::Request))),
        fd(client),
        started_ms(uv_now(daemon->loop)) {}

  void stop() override;
  const std::string* live_bytes(uint64_t* sent, uint64_t* received) const override {
    if (!relayed) return nullptr;
    *sent = relay.up.bytes;
    *received = relay.down.bytes;
    return &who.app;
  }
};

void on_closed(uv_handle_t* handle) {
  auto* s = static_cast<TcpSession*>(handle->data);
  if (--s->open_handles > 0) return;
  if (s->relayed) {
    CloseEvent event;
    describe_peer(s->who, &event);
    event.dst = format_endpoint(s->destination);
    event.joined = s->joined_app;
    event.bytes_sent = s->relay.up.bytes;
    event.bytes_received = s->relay.down.bytes;
    event.duration_ms = uv_now(s->d->loop) - s->started_ms;
    s->d->audit->record(event);
  }
  if (s->joined != nullptr) inbound_join_end(s->joined, s->relay.up.bytes, s->relay.down.bytes);
  s->d->limits.release(s->who.app);
  s->d->untrack(s);
  delete s;
}

void close_handle(void* handle) {
  auto* h = static_cast<uv_handle_t*>(handle);
  if (!uv_is_closing(h)) uv_close(h, on_closed);
}

void close_session(TcpSession* s) {
  if (s->state == State::kClosing) return;
  s->app.data = s->upstream.tcp.data = s;  // the relay had them
  // The relay's own handles first: they watch the descriptors the streams close.
  s->open_handles += relay_close(&s->relay, on_closed, s);
  close_handle(&s->connect_timer);
  close_handle(&s->upstream);
  if (s->state == State::kRelaying) {
    close_handle(&s->app);
  } else {
    if (s->watching_hangup) close_handle(&s->hangup_watch);
    close(s->fd);
  }
  s->state = State::kClosing;
}

void TcpSession::stop() {
  // A connect still in flight ends as if it had timed out; the app sees its socket close.
  close_session(this);
}

// Errors (a peer resetting, an app exiting) are routine and not logged; the
// close audit line records the connection's end either way.
void on_relay_end(Relay* relay, const char* /*error*/) {
  close_session(static_cast<TcpSession*>(relay->owner));
}

void start_relay(TcpSession* s) {
  close_handle(&s->connect_timer);
  // Stop watching with uv_poll before the pipe handle takes over the fd.
  if (s->watching_hangup) close_handle(&s->hangup_watch);
  uv_pipe_init(s->d->loop, &s->app, 0);
  s->app.data = s;
  ++s->open_handles;
  s->state = State::kRelaying;  // from here on the pipe handle owns the fd
  if (uv_pipe_open(&s->app, s->fd) != 0) {
    close(s->fd);
    return close_session(s);
  }
  s->relayed = true;
  s->d->stats.opened(s->who.app, Stats::Kind::kOutboundTcp);
  s->app.data = s->upstream.tcp.data = &s->relay;
  s->relay.owner = s;
  s->relay.on_end = on_relay_end;
  s->relay.marks = Watermarks{s->d->config.high_water, s->d->config.low_water};
  s->relay.splice_after = s->d->config.splice ? kSpliceAfter : 0;
  s->relay.discard = s->padding;
  s->relay.owe_result = s->padding > 0;
  relay_start(&s->relay, reinterpret_cast<uv_stream_t*>(&s->app),
              reinterpret_cast<uv_stream_t*>(&s->upstream));
}

void on_connect(uv_connect_t* req, int status) {
  auto* s = static_cast<TcpSession*>(req->data);
  if (s->state == State::kClosing) return;
  if (status < 0) {
    send_failed_result(s->fd, s->padding, connect_errno(status, s->timed_out));
    return close_session(s);
  }
  // A blocking connect waits for the Result. A padded one learns its success
  // from the padding being drained (the fd turning writable); its Result then
  // goes ahead of the first upstream byte (Relay::owe_result, docs/protocol.md).
  if (s->padding == 0 && !send_reply(s->fd, wire::ReplyKind::kResult, 0)) return close_session(s);
  start_relay(s);
}

void on_hangup(uv_poll_t* poll, int /*status*/, int /*events*/) {
  close_session(static_cast<TcpSession*>(poll->data));
}

void on_connect_timer(uv_timer_t* timer) {
  auto* s = static_cast<TcpSession*>(timer->data);
  const uint64_t waited = uv_now(s->d->loop) - s->started_ms;
  const uint64_t timeout = s->d->config.connect_timeout_ms;
  if (waited < timeout) {
    // A slow connect: from now on, an app that gives up ends it at once.
    if (!s->watching_hangup && uv_poll_init_socket(s->d->loop, &s->hangup_watch, s->fd) == 0) {
      s->watching_hangup = true;
      ++s->open_handles;
      s->hangup_watch.data = s;
      uv_poll_start(&s->hangup_watch, UV_DISCONNECT, on_hangup);
    }
    uv_timer_start(timer, on_connect_timer, timeout - waited, 0);
    return;
  }
  s->timed_out = true;
  // Closing the handle cancels the connect: on_connect then sees UV_ECANCELED.
  send_failed_result(s->fd, s->padding, ETIMEDOUT);
  close_session(s);
}

// The app's options, as far as they make sense on the daemon's socket.
// Failures are ignored: the kernel clamps or refuses odd values itself.
void apply_options(uv_tcp_t* tcp, const wire::SocketOptions& o) {
  int fd = -1;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(tcp), &fd) != 0) return;
  auto set = [fd](int level, int name, int32_t value) {
    int v = value;
    setsockopt(fd, level, name, &v, sizeof v);
  };
  // Always on: the daemon forwards what it receives as soon as it has it.
  set(IPPROTO_TCP, TCP_NODELAY, 1);
  if ((o.set & wire::SocketOptions::kKeepAlive) && o.keep_alive != 0) set(SOL_SOCKET, SO_KEEPALIVE, 1);
  if ((o.set & wire::SocketOptions::kKeepIdle) && o.keep_idle > 0) set(IPPROTO_TCP, TCP_KEEPIDLE, o.keep_idle);
  if ((o.set & wire::SocketOptions::kKeepInterval) && o.keep_interval > 0)
    set(IPPROTO_TCP, TCP_KEEPINTVL, o.keep_interval);
  if ((o.set & wire::SocketOptions::kKeepCount) && o.keep_count > 0) set(IPPROTO_TCP, TCP_KEEPCNT, o.keep_count);
  if ((o.set & wire::SocketOptions::kSendBuffer) && o.send_buffer > 0) set(SOL_SOCKET, SO_SNDBUF, o.send_buffer);
  if ((o.set & wire::SocketOptions::kReceiveBuffer) && o.receive_buffer > 0)
    set(SOL_SOCKET, SO_RCVBUF, o.receive_buffer);
}

bool start_connect(TcpSession* s) {
  sockaddr_storage address{};
  socklen_t length = 0;
  to_sockaddr(s->destination, &address, &length);
  uv_loop_t* loop = s->d->loop;
  // Creating the socket now lets the app's options apply before connect();
  // if that fails, uv_tcp_connect creates it and reports the errno.
  if (uv_tcp_init_ex(loop, &s->upstream.tcp, address.ss_family) != 0) uv_tcp_init(loop, &s->upstream.tcp);
  uv_timer_init(loop, &s->connect_timer);
  s->upstream.tcp.data = s->connect_timer.data = s->connect_req.data = s;
  s->open_handles = 2;
  apply_options(&s->upstream.tcp, s->options);
  const int status = uv_tcp_connect(&s->connect_req, &s->upstream.tcp,
                                    reinterpret_cast<const sockaddr*>(&address), on_connect);
  if (status < 0) {
    send_failed_result(s->fd, s->padding, connect_errno(status, false));
    return false;
  }
  const uint64_t timeout = s->d->config.connect_timeout_ms;
  uv_timer_start(&s->connect_timer, on_connect_timer,
                 timeout < kHangupWatchAfterMs ? timeout : kHangupWatchAfterMs, 0);
  return true;
}

// An upstream that is one end of a socketpair: nothing is connected; the
// relay (padding, Result, backpressure, close line) runs as for any
// connection. `serve` takes the other end and returns 0, or the errno the
// app's connect fails with.
template <typename Serve>
bool start_paired(TcpSession* s, Serve serve) {
  uv_loop_t* loop = s->d->loop;
  uv_timer_init(loop, &s->connect_timer);
  uv_pipe_init(loop, &s->upstream.pipe, 0);
  s->upstream.tcp.data = s->connect_timer.data = s;
  s->open_handles = 2;
  int pair[2];
  // Blocking: each end is made non-blocking by whoever reads it, and an
  // end handed to an app must not carry O_NONBLOCK (accept4 decides).
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    send_failed_result(s->fd, s->padding, errno);
    return false;
  }
  if (uv_pipe_open(&s->upstream.pipe, pair[0]) != 0) {
    close(pair[0]);
    close(pair[1]);
    send_failed_result(s->fd, s->padding, EIO);
    return false;
  }
  if (const int error = serve(pair[1])) {
    send_failed_result(s->fd, s->padding, error);
    return false;
  }
  if (s->padding == 0 && !send_reply(s->fd, wire::ReplyKind::kResult, 0)) return false;
  start_relay(s);
  return true;
}

// DNS over TCP that the daemon answers (dns/stream.h).
bool start_answering(TcpSession* s) {
  return start_paired(s, [s](int end) {
    dns::serve_stream(*s->d, s->who, end);
    return 0;
  });
}

// A destination a leashed listener virtually holds: its accept queue gets
// the other end (inbound_join), or the client is refused.
bool start_joining(TcpSession* s, AcceptQueue* listening, const wire::Request& request) {
  return start_paired(s, [s, listening, &request](int end) {
    return inbound_join(s->d, listening, s->who, request, end, &s->joined);
  });
}

}  // namespace

int connect_errno(int uv_status, bool timed_out) {
  if (timed_out || uv_status == UV_ECANCELED) return ETIMEDOUT;
  return uv_status < 0 ? -uv_status : ECONNREFUSED;
}

void tcp_session_start(Daemon* d, int fd, PeerIdentity who, const wire::Request& request) {
  const wire::Address destination = normalize_address(request.addr);
  const bool answered = dns::daemon_answers(*d, who, destination);
  policy::Decision decision =
      answered ? dns::answered_here() : decide_outbound(*d, who, destination, policy::Protocol::kTcp);
  if (decision.allow && !decision.via.empty())
    return tunnel_dial_start(d, fd, std::move(who), request, std::move(decision));
  // Nothing really listens where a leashed listener virtually does: such a
  // destination is joined to it in the daemon, never connected out.
  AcceptQueue* listening = decision.allow && !answered ? virtual_listener_for(who.app, destination) : nullptr;
  const std::string joined_app = listening != nullptr ? listening->who.app : "";
  std::string limit_reason;
  int verdict = decision.allow ? 0 : EACCES;
  if (decision.allow && !d->limits.acquire(who.app, &limit_reason)) {
    decision.allow = false;
    decision.reason = limit_reason;
    verdict = ENOBUFS;
  }
  audit_decision(*d, who, "connect", destination, decision, decision.allow ? joined_app : "");
  if (!send_reply(fd, wire::ReplyKind::kVerdict, verdict) || verdict != 0) {
    if (verdict == 0) d->limits.release(who.app);
    close(fd);
    return;
  }
  auto* s = new TcpSession(d, fd, std::move(who), request);
  d->track(s);
  s->joined_app = joined_app;
  const bool started = answered ? start_answering(s) : listening != nullptr ? start_joining(s, listening, request)
                                                                             : start_connect(s);
  if (!started) close_session(s);
}

}  // namespace netleash::netleashd
