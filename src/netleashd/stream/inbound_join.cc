#include "netleashd/stream/inbound_join.h"

#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "netleashd/daemon.h"
#include "netleashd/stream/inbound_listener.h"
#include "netleashd/stream/inbound_queue.h"
#include "netleashd/stream/inbound_registry.h"
#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {

struct JoinedEnd {
  Daemon* d;
  PeerIdentity who;  // the listening process
  std::string client_app;
  wire::Address peer;
  wire::Address destination;
  wire::Address bound;
  uint64_t started_ms;
};

wire::Address joined_client_source(const wire::Address& client_local, const wire::Address& arrival) {
  wire::Address source = normalize_address(client_local);
  const uint16_t port = source.port;
  if (source.family != arrival.family || is_unspecified(source)) {
    source = arrival;
    if (arrival.family == AF_INET && is_loopback(arrival)) {
      std::memset(source.addr, 0, sizeof source.addr);
      source.addr[0] = 127;
      source.addr[3] = 1;
    }
  }
  source.port = port;
  return source;
}

int inbound_join(Daemon* d, AcceptQueue* listening, const PeerIdentity& client, const wire::Request& request,
                 int app_end, JoinedEnd** end) {
  const wire::Address destination = arrival_address(normalize_address(request.addr));
  const wire::Address peer = joined_client_source(request.local, destination);
  AcceptQueue* q = inbound_listener_admit(listening->listener, peer, destination, client.app);
  const int delivered = q == nullptr ? ECONNREFUSED : accept_queue_deliver_past_backlog(q, peer, app_end);
  close(app_end);  // the app holds it now, or nobody does
  if (q == nullptr) return ECONNREFUSED;
  if (delivered != 0) {
    d->limits.release(q->who.app);
    if (delivered != EAGAIN && delivered != ENOBUFS && delivered != ENOMEM) accept_queue_close(q);  // the app is gone
    return ECONNREFUSED;
  }
  d->stats.opened(q->who.app, Stats::Kind::kInboundTcp);
  *end = new JoinedEnd{d, q->who, client.app, peer, destination, q->bound, uv_now(d->loop)};
  return 0;
}

void inbound_join_end(JoinedEnd* end, uint64_t client_sent, uint64_t client_received) {
  CloseEvent event;
  describe_peer(end->who, &event);
  event.dst = format_endpoint(end->destination);
  event.src = format_endpoint(end->peer);
  event.listen = format_endpoint(end->bound);
  event.joined = end->client_app;
  event.bytes_sent = client_received;
  event.bytes_received = client_sent;
  event.duration_ms = uv_now(end->d->loop) - end->started_ms;
  end->d->audit->record(event);
  end->d->limits.release(end->who.app);
  delete end;
}

}  // namespace netleash::netleashd
