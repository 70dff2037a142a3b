#include "netleashd/stream/inbound_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netleashd/daemon.h"
#include "netleashd/stream/inbound_queue.h"
#include "netleashd/stream/relay.h"
#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {
namespace {

struct InboundConnection final : Tracked {
  Daemon* d;
  PeerIdentity who;
  wire::Address peer;
  wire::Address real;
  wire::Address bound;
  uint64_t started_ms;
  int open_handles = 0;
  bool closing = false;
  uv_tcp_t client{};  // the real connection
  uv_pipe_t app{};    // the daemon's end of the socketpair
  Relay relay;

  InboundConnection(Daemon* daemon, const AcceptQueue* q, const wire::Address& from, const wire::Address& at)
      : d(daemon), who(q->who), peer(from), real(at), bound(q->bound), started_ms(uv_now(daemon->loop)) {}

  void stop() override;
  const std::string* live_bytes(uint64_t* sent, uint64_t* received) const override {
    *sent = relay.up.bytes;
    *received = relay.down.bytes;
    return &who.app;
  }
};

void on_closed(uv_handle_t* handle) {
  auto* c = static_cast<InboundConnection*>(handle->data);
  if (--c->open_handles > 0) return;
  CloseEvent event;
  describe_peer(c->who, &event);
  event.dst = format_endpoint(c->real);
  event.src = format_endpoint(c->peer);
  event.listen = format_endpoint(c->bound);
  event.bytes_sent = c->relay.up.bytes;
  event.bytes_received = c->relay.down.bytes;
  event.duration_ms = uv_now(c->d->loop) - c->started_ms;
  c->d->audit->record(event);
  c->d->limits.release(c->who.app);
  c->d->untrack(c);
  delete c;
}

void close_connection(InboundConnection* c) {
  if (c->closing) return;
  c->closing = true;
  c->client.data = c->app.data = c;  // the relay had them
  // The relay's own handles first: they watch the descriptors the streams close.
  c->open_handles += relay_close(&c->relay, on_closed, c);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->client), on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->app), on_closed);
}

void InboundConnection::stop() { close_connection(this); }

void on_relay_end(Relay* relay, const char* /*error*/) {
  close_connection(static_cast<InboundConnection*>(relay->owner));
}

// What the app set on its listening socket, as far as it means something on
// the real connection; TCP_NODELAY is always on (we forward at once).
void apply_options(int fd, const wire::SocketOptions& o) {
  auto set = [fd](int level, int name, int value) { setsockopt(fd, level, name, &value, sizeof value); };
  set(IPPROTO_TCP, TCP_NODELAY, 1);
  if ((o.set & wire::SocketOptions::kKeepAlive) && o.keep_alive != 0) set(SOL_SOCKET, SO_KEEPALIVE, 1);
  if ((o.set & wire::SocketOptions::kKeepIdle) && o.keep_idle > 0) set(IPPROTO_TCP, TCP_KEEPIDLE, o.keep_idle);
  if ((o.set & wire::SocketOptions::kKeepInterval) && o.keep_interval > 0)
    set(IPPROTO_TCP, TCP_KEEPINTVL, o.keep_interval);
  if ((o.set & wire::SocketOptions::kKeepCount) && o.keep_count > 0) set(IPPROTO_TCP, TCP_KEEPCNT, o.keep_count);
}

}  // namespace

bool inbound_connection_start(Daemon* d, AcceptQueue* queue, int tcp_fd, const wire::Address& peer,
                              const wire::Address& real) {
  int pair[2];
  // The app's end stays blocking: O_NONBLOCK would travel with it (it is
  // the open file's), and accept4 decides that for the app. Ours is made
  // non-blocking by uv_pipe_open.
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    close(tcp_fd);
    d->limits.release(queue->who.app);
    return false;
  }
  apply_options(tcp_fd, queue->options);
  const int delivered = accept_queue_deliver(queue, peer, pair[1]);
  close(pair[1]);  // the app holds it now, or nobody does
  if (delivered != 0) {
    close(tcp_fd);
    close(pair[0]);
    d->limits.release(queue->who.app);
    accept_queue_close(queue);  // the app's listening socket is gone
    return false;
  }
  auto* c = new InboundConnection(d, queue, peer, real);
  d->track(c);
  d->stats.opened(c->who.app, Stats::Kind::kInboundTcp);
  uv_tcp_init(d->loop, &c->client);
  uv_pipe_init(d->loop, &c->app, 0);
  c->client.data = c->app.data = c;
  c->open_handles = 2;
  const bool client_open = uv_tcp_open(&c->client, tcp_fd) == 0;
  const bool app_open = uv_pipe_open(&c->app, pair[0]) == 0;
  if (!client_open || !app_open) {  // a handle that did not take its fd leaves it to us
    if (!client_open) close(tcp_fd);
    if (!app_open) close(pair[0]);
    close_connection(c);
    return false;
  }
  c->client.data = c->app.data = &c->relay;
  c->relay.owner = c;
  c->relay.on_end = on_relay_end;
  c->relay.marks = Watermarks{d->config.high_water, d->config.low_water};
  c->relay.splice_after = d->config.splice ? kSpliceAfter : 0;
  relay_start(&c->relay, reinterpret_cast<uv_stream_t*>(&c->app), reinterpret_cast<uv_stream_t*>(&c->client));
  return true;
}

}  // namespace netleash::netleashd
