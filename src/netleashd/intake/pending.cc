#include "netleashd/intake/pending.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "netleashd/daemon.h"
#include "netleashd/intake/identity.h"
#include "netleashd/stream/inbound_listener.h"
#include "netleashd/datagram/inbound_udp.h"
#include "netleashd/decide/queries.h"
#include "netleashd/stream/tcp_session.h"
#include "netleashd/datagram/udp_association.h"

namespace netleash::netleashd {

struct Pending {
  Daemon* daemon = nullptr;
  Channel channel = Channel::kStream;
  int fd = -1;
  uint64_t deadline_ms = 0;
  Pending* prev = nullptr;
  Pending* next = nullptr;
  bool polling = false;  // `poll` is initialised (the Request did not come with the accept)
  uv_poll_t poll{};
  PeerIdentity who;
  bool credentials_always = true;  // see pending_start
  pid_t sender = 0;            // SCM_CREDENTIALS of the Request's first bytes
  bool two_senders = false;    // a later part came from another process
  int passed_fd = -1;          // a descriptor that came with the Request (kJoinTree only)
  size_t received = 0;
  wire::Request request{};
};

struct PendingQueue {
  Daemon* daemon;
  Pending* head = nullptr;  // oldest
  Pending* tail = nullptr;
  size_t count = 0;
  uv_timer_t timer{};
};

namespace {

void unlink_pending(PendingQueue* queue, Pending* p) {
  (p->prev ? p->prev->next : queue->head) = p->next;
  (p->next ? p->next->prev : queue->tail) = p->prev;
  --queue->count;
}

// Ends the pending state. The fd is closed unless it was handed on.
void finish(Pending* p, bool close_fd) {
  unlink_pending(p->daemon->pending, p);
  const int fd = p->fd;
  if (p->passed_fd >= 0) close(p->passed_fd);
  if (p->polling) {
    uv_close(reinterpret_cast<uv_handle_t*>(&p->poll),
             [](uv_handle_t* handle) { delete static_cast<Pending*>(handle->data); });
  } else {
    delete p;
  }
  if (close_fd) close(fd);
}

void drop(Pending* p, const char* why) {
  log_message("pid %d (%s): closing connection: %s", static_cast<int>(p->who.pid),
              p->who.app.empty() ? "no app" : p->who.app.c_str(), why);
  finish(p, true);
}

void dispatch(Pending* p) {
  Daemon* d = p->daemon;
  const int fd = p->fd;
  const wire::Request request = p->request;
  PeerIdentity who = std::move(p->who);
  const int passed_fd = std::exchange(p->passed_fd, -1);
  finish(p, false);  // the poll handle is released before another handle takes the fd
  if (static_cast<wire::Op>(request.op) == wire::Op::kJoinTree) {
    // Closed after the offer is judged: the end of the connection tells the
    // offering process it may go on (or exit).
    if (passed_fd < 0) {
      log_message("pid %d: kJoinTree without a descriptor", static_cast<int>(who.pid));
    } else {
      d->trees.offer(who, passed_fd);
    }
    close(fd);
    return;
  }
  if (passed_fd >= 0) close(passed_fd);
  switch (static_cast<wire::Op>(request.op)) {
    case wire::Op::kConnect: return tcp_session_start(d, fd, std::move(who), request);
    case wire::Op::kDatagramOpen:
      if (request.flags & wire::kFlagBound) return inbound_udp_start(d, fd, std::move(who), request);
      return udp_association_start(d, fd, std::move(who), request);
    case wire::Op::kListen: return inbound_listen_start(d, fd, std::move(who), request);
    case wire::Op::kCheck: return query_check(d, fd, who, request);
    case wire::Op::kResolve: return query_resolve(d, fd, std::move(who), request);
    case wire::Op::kExplain: return query_explain(d, fd, who, request);
    default: close(fd);  // validate_request() lets no other op through
  }
}

enum class ReadState { kIncomplete, kDispatched, kDropped };

// recv() of at most `length` bytes that also takes the sender's credentials
// (SO_PASSCRED, set on the listener, makes the kernel attach them; a stream
// read never merges bytes of two senders).
ssize_t receive(Pending* p, char* bytes, size_t length, int flags) {
  iovec data{bytes, length};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int))];
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  // Room for the credentials and one descriptor (kJoinTree's listener; any
  // other op's is closed, more than one are dropped by the kernel).
  const ssize_t n = recvmsg(p->fd, &message, flags | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n <= 0) return n;
  pid_t sender = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
        c->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
      ucred cred;
      std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
      sender = cred.pid;
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int passed;
        std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
        if (p->passed_fd < 0) {
          p->passed_fd = passed;
        } else {
          close(passed);
        }
      }
    }
  }
  if (p->received == 0) {
    p->sender = sender;
  } else if (sender != p->sender) {
    p->two_senders = true;
  }
  return n;
}

// Reads what is missing of the Request and never more: on the stream socket
// the bytes after it are padding the daemon drains later; on the seqpacket
// socket the Request is one whole packet. A complete Request is dispatched.
ReadState read_request(Pending* p) {
  auto* bytes = reinterpret_cast<char*>(&p->request);
  ssize_t n;
  if (p->channel == Channel::kStream) {
    n = receive(p, bytes + p->received, sizeof p->request - p->received, 0);
  } else {
    n = receive(p, bytes, sizeof p->request, MSG_TRUNC);
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return ReadState::kIncomplete;
    drop(p, std::strerror(errno));
    return ReadState::kDropped;
  }
  if (n == 0) {
    drop(p, "closed before sending a complete request");
    return ReadState::kDropped;
  }
  if (p->channel == Channel::kSeqpacket) {
    // One packet; any padding had to come in it (MSG_TRUNC gave its real size).
    if (const char* problem = check_request_packet(p->request, static_cast<size_t>(n))) {
      drop(p, problem);
      return ReadState::kDropped;
    }
    p->received = sizeof p->request;
  } else {
    p->received += static_cast<size_t>(n);
    if (p->received < sizeof p->request) return ReadState::kIncomplete;
  }
  if (const char* problem = validate_request(p->request, p->channel)) {
    drop(p, problem);
    return ReadState::kDropped;
  }
  Daemon* d = p->daemon;
  if (p->two_senders) {
    p->who.app.clear();
    p->who.failure = "the request's bytes came from two processes";
  } else if (p->sender != 0 || p->credentials_always) {
    check_sender(p->sender, d->trust, &d->identities, d->trees, &p->who);
  }
  dispatch(p);
  return ReadState::kDispatched;
}

void on_readable(uv_poll_t* poll, int status, int /*events*/) {
  auto* p = static_cast<Pending*>(poll->data);
  if (status < 0) return drop(p, "poll error");
  (void)read_request(p);
}

void on_deadline(uv_timer_t* timer) {
  auto* queue = static_cast<PendingQueue*>(timer->data);
  const uint64_t now = uv_now(queue->daemon->loop);
  while (queue->head != nullptr && queue->head->deadline_ms <= now)
    drop(queue->head, "no complete request before the deadline");
  if (queue->head != nullptr) uv_timer_start(timer, on_deadline, queue->head->deadline_ms - now, 0);
}

}  // namespace

PendingQueue* pending_queue_create(Daemon* daemon) {
  auto* queue = new PendingQueue{daemon};
  uv_timer_init(daemon->loop, &queue->timer);
  queue->timer.data = queue;
  return queue;
}

void pending_queue_close(PendingQueue* queue) {
  while (queue->head != nullptr) finish(queue->head, true);
  uv_close(reinterpret_cast<uv_handle_t*>(&queue->timer),
           [](uv_handle_t* handle) { delete static_cast<PendingQueue*>(handle->data); });
}

void pending_start(Daemon* daemon, int fd, Channel channel, bool credentials_always) {
  PendingQueue* queue = daemon->pending;
  if (queue->count >= daemon->config.max_pending) drop(queue->head, "too many pending connections");
  auto* p = new Pending;
  p->daemon = daemon;
  p->channel = channel;
  p->credentials_always = credentials_always;
  p->fd = fd;
  p->deadline_ms = uv_now(daemon->loop) + daemon->config.request_timeout_ms;
  p->who = identify_peer(fd, &daemon->identities, daemon->trust, daemon->trees);
  p->prev = queue->tail;
  (queue->tail ? queue->tail->next : queue->head) = p;
  queue->tail = p;
  ++queue->count;
  // The shim sends its Request right after connect(), so it is usually here
  // already: reading it now spares a poll handle and an event-loop round.
  if (read_request(p) != ReadState::kIncomplete) return;
  if (uv_poll_init_socket(daemon->loop, &p->poll, fd) != 0) return finish(p, true);
  p->polling = true;
  p->poll.data = p;
  uv_poll_start(&p->poll, UV_READABLE, on_readable);
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&queue->timer)))
    uv_timer_start(&queue->timer, on_deadline, daemon->config.request_timeout_ms, 0);
}

}  // namespace netleash::netleashd
