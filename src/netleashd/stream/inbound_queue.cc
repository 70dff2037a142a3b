#include "netleashd/stream/inbound_queue.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "netleashd/stream/inbound_listener.h"
#include "netleashd/stream/inbound_registry.h"
#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {
namespace {

constexpr int kMaxBacklog = 4096;  // Linux's default somaxconn
// A full queue whose socket reports writable anyway (its buffer cannot be
// made small enough for a tiny backlog) looks again after this long.
constexpr uint64_t kRecheckMs = 2;

// The bytes the kernel charges for one unread record with one fd attached,
// measured once on a throwaway socketpair; SIOCOUTQ counts in these units.
long record_truesize() {
  static long measured = 0;
  if (measured != 0) return measured;
  measured = 1024;  // a safe guess if the measurement fails
  int pair[2];
  int pipe_fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return measured;
  if (pipe2(pipe_fds, O_CLOEXEC) == 0) {
    wire::AcceptRecord record{};
    iovec iov{&record, sizeof record};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pipe_fds[0], sizeof(int));
    int outq = 0;
    if (sendmsg(pair[0], &msg, MSG_DONTWAIT) == sizeof record && ioctl(pair[0], SIOCOUTQ, &outq) == 0 && outq > 0)
      measured = outq;
    close(pipe_fds[0]);
    close(pipe_fds[1]);
  }
  close(pair[0]);
  close(pair[1]);
  return measured;
}

long queued_bytes(const AcceptQueue* q) {
  int outq = 0;
  if (ioctl(q->fd, SIOCOUTQ, &outq) != 0) return 0;
  return outq;
}

// The kernel doubles `value`. FORCE passes net.core.wmem_max when the
// daemon may; else the kernel caps it.
void set_send_buffer(int fd, int value) {
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &value, sizeof value) != 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &value, sizeof value);
}

// SO_SNDBUF so that the socket is writable (wmem * 4 <= sk_sndbuf, Linux's
// unix_writable) exactly while fewer than `backlog` records wait.
void size_send_buffer(AcceptQueue* q) {
  const long unit = record_truesize();
  const long threshold = unit * (q->backlog - 1) + unit / 2;
  set_send_buffer(q->fd, static_cast<int>(std::min<long>(threshold * 2, 1L << 30)));
  socklen_t length = sizeof q->sndbuf;
  getsockopt(q->fd, SOL_SOCKET, SO_SNDBUF, &q->sndbuf, &length);
}

void on_closed(uv_handle_t* handle) {
  auto* q = static_cast<AcceptQueue*>(handle->data);
  if (--q->open_handles > 0) return;
  q->d->untrack(q);
  delete q;
}

void on_recheck(uv_timer_t* timer);
void on_event(uv_poll_t* poll, int status, int events);

void update_events(AcceptQueue* q) {
  int events = UV_READABLE | UV_DISCONNECT;
  if (q->watching_room) events |= UV_WRITABLE;
  uv_poll_start(&q->poll, events, on_event);
}

void on_event(uv_poll_t* poll, int status, int events) {
  auto* q = static_cast<AcceptQueue*>(poll->data);
  if (status < 0) return accept_queue_close(q);
  if (events & (UV_READABLE | UV_DISCONNECT)) {
    // The app never writes after its Request: EOF (its last listening fd
    // closed) or stray bytes both end the listen.
    char byte;
    const ssize_t n = recv(q->fd, &byte, 1, MSG_DONTWAIT);
    if (n >= 0 || (errno != EAGAIN && errno != EINTR)) return accept_queue_close(q);
  }
  if ((events & UV_WRITABLE) == 0 || !q->watching_room) return;
  if (accept_queue_has_room(q)) {
    accept_queue_watch_room(q, false);
    return inbound_listener_room(q->listener);
  }
  // Writable but still full: the buffer could not be sized that finely.
  uv_poll_start(&q->poll, UV_READABLE | UV_DISCONNECT, on_event);
  uv_timer_start(&q->recheck, on_recheck, kRecheckMs, 0);
}

void on_recheck(uv_timer_t* timer) {
  auto* q = static_cast<AcceptQueue*>(timer->data);
  if (q->closing || !q->watching_room) return;
  if (!accept_queue_has_room(q)) return update_events(q);
  accept_queue_watch_room(q, false);
  inbound_listener_room(q->listener);
}

}  // namespace

AcceptQueue::AcceptQueue(Daemon* daemon, int client, PeerIdentity peer, const wire::Request& request)
    : d(daemon),
      who(std::move(peer)),
      fd(client),
      bound(request.addr),
      local(normalize_address(request.local.family != 0 ? request.local : request.addr)),
      options(request.options),
      backlog(std::clamp(request.backlog, 1, kMaxBacklog)),
      flags(request.flags) {}

void AcceptQueue::stop() { accept_queue_close(this); }

AcceptQueue* accept_queue_open(Daemon* d, int fd, PeerIdentity who, const wire::Request& request) {
  auto* q = new AcceptQueue(d, fd, std::move(who), request);
  d->track(q);
  size_send_buffer(q);
  uv_poll_init_socket(d->loop, &q->poll, fd);
  uv_timer_init(d->loop, &q->recheck);
  q->poll.data = q->recheck.data = q;
  q->open_handles = 2;
  update_events(q);
  return q;
}

bool accept_queue_has_room(const AcceptQueue* q) {
  if (q->closing) return false;
  const long unit = record_truesize();
  const long bytes = queued_bytes(q);
  const long queued = (bytes + unit - 1) / unit;
  return queued < q->backlog && bytes + unit < q->sndbuf;
}

bool accept_queue_takes(const AcceptQueue* q, const wire::Address& peer) {
  if (normalize_address(peer).family == AF_INET) return q->bound.family == AF_INET || !(q->flags & wire::kFlagV6Only);
  return q->bound.family == AF_INET6;
}

int accept_queue_deliver(AcceptQueue* q, const wire::Address& peer, int app_end) {
  wire::AcceptRecord record{};
  record.magic = wire::kMagic;
  record.kind = static_cast<uint16_t>(wire::ReplyKind::kAccept);
  record.peer = normalize_address(peer);
  iovec iov{&record, sizeof record};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &app_end, sizeof app_end);
  ssize_t n;
  do n = sendmsg(q->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof record)) return 0;
  return n < 0 ? errno : EPIPE;  // a 32-byte unix stream send is never partial
}

int accept_queue_deliver_past_backlog(AcceptQueue* q, const wire::Address& peer, int app_end) {
  if (accept_queue_has_room(q)) return accept_queue_deliver(q, peer, app_end);
  // A unix stream takes a send while its queued bytes are below sk_sndbuf:
  // room for one more record, for this send only.
  set_send_buffer(q->fd, static_cast<int>(std::min<long>(queued_bytes(q) + record_truesize(), 1L << 30)));
  const int error = accept_queue_deliver(q, peer, app_end);
  set_send_buffer(q->fd, q->sndbuf / 2);
  return error;
}

void accept_queue_watch_room(AcceptQueue* q, bool on) {
  if (q->closing || q->watching_room == on) return;
  q->watching_room = on;
  if (!on) uv_timer_stop(&q->recheck);
  update_events(q);
}

void accept_queue_close(AcceptQueue* q) {
  if (q->closing) return;
  q->closing = true;
  virtual_listeners_remove(q);
  if (q->listener != nullptr) inbound_listener_detach(q->listener, q);
  q->listener = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&q->poll), on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&q->recheck), on_closed);
  close(q->fd);
}

}  // namespace netleash::netleashd
