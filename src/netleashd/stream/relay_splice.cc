#include "netleashd/stream/relay_splice.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "netleashd/stream/relay.h"

namespace netleash::netleashd {
namespace {

// Never wait inside splice(2): the sockets are non-blocking and so are the pipes.
constexpr unsigned kFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
// Source -> pipe -> destination rounds per readiness event, at most.
constexpr int kRoundsPerEvent = 16;

// A pipe of `high` bytes. F_SETPIPE_SZ may be refused (a non-root daemon
// over pipe-user-pages-soft); the pipe then keeps the size it has.
bool open_pipe(SpliceDirection* d, size_t high) {
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return false;
  d->pipe_read = fds[0];
  d->pipe_write = fds[1];
  const int asked = high > (1u << 30) ? (1 << 30) : static_cast<int>(high);
  int size = fcntl(fds[1], F_SETPIPE_SZ, asked);
  if (size < 0) size = fcntl(fds[1], F_GETPIPE_SZ);
  if (size <= 0) return false;
  d->capacity = static_cast<size_t>(size) < high ? static_cast<size_t>(size) : high;
  return true;
}

void close_pipe(SpliceDirection* d) {
  if (d->pipe_read >= 0) close(d->pipe_read);
  if (d->pipe_write >= 0) close(d->pipe_write);
  d->pipe_read = d->pipe_write = -1;
}

void on_poll(uv_poll_t* poll, int status, int events);

// What the socket under `poll` must be watched for: readable while its
// direction reads, writable while the other direction waits on it.
void watch(uv_poll_t* poll, int* current, const SpliceDirection& reading, const SpliceDirection& writing) {
  const int events = (reading.half->eof || reading.half->paused ? 0 : UV_READABLE) |
                     (writing.blocked ? UV_WRITABLE : 0);
  if (events == *current) return;  // each change costs epoll_ctl calls
  *current = events;
  if (events != 0) {
    uv_poll_start(poll, events, on_poll);
  } else {
    uv_poll_stop(poll);
  }
}

void rearm(SplicePath* path) {
  if (path->relay->ended) return;
  watch(&path->app_poll, &path->app_events, path->up, path->down);
  watch(&path->upstream_poll, &path->upstream_events, path->down, path->up);
}

// EOF read and the pipe empty: the half-close goes on to the destination.
void shut_when_drained(SplicePath* path, SpliceDirection* d) {
  RelayHalf* half = d->half;
  if (!half->eof || d->queued > 0 || half->shut) return;
  // The peer may already be gone (ENOTCONN): then nothing more can flow that way.
  shutdown(d->to, SHUT_WR);
  half->shut = true;
  if (path->relay->up.shut && path->relay->down.shut) relay_end(path->relay, nullptr);
}

// splice(2) cannot take these descriptors at all (EINVAL): before the first
// byte, the connection goes back to copying, for good.
bool fall_back(SplicePath* path, int error) {
  Relay* relay = path->relay;
  if (path->moved || (error != EINVAL && error != ENOSYS && error != EOPNOTSUPP)) return false;
  path->up.half->paused = path->down.half->paused = false;
  path->up.blocked = path->down.blocked = false;
  path->app_events = path->upstream_events = 0;
  uv_poll_stop(&path->app_poll);
  uv_poll_stop(&path->upstream_poll);
  close_pipe(&path->up);
  close_pipe(&path->down);
  relay->splice_after = 0;
  relay_copy_again(relay);
  return true;
}

// Pipe -> destination, until the pipe is empty or the destination full.
void pump_out(SplicePath* path, SpliceDirection* d) {
  while (d->queued > 0) {
    const ssize_t n = splice(d->pipe_read, nullptr, d->to, nullptr, d->queued, kFlags);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      d->blocked = true;
      break;
    }
    if (n <= 0) return relay_end(path->relay, n == 0 ? "the destination took nothing" : std::strerror(errno));
    const bool partial = static_cast<size_t>(n) < d->queued;
    d->queued -= static_cast<size_t>(n);
    d->blocked = partial;  // a socket that took part of it is full
    if (partial) break;
  }
  if (d->half->paused && path->relay->marks.should_resume(d->queued)) d->half->paused = false;
  shut_when_drained(path, d);
}

// Source -> pipe -> destination, again while both keep up (as libuv's own
// read loop does: a busy source refills while the loop works, and each loop
// turn that would otherwise pick it up costs a wakeup).
void pump_in(SplicePath* path, SpliceDirection* d) {
  RelayHalf* half = d->half;
  for (int round = 0; round < kRoundsPerEvent; ++round) {
    if (half->eof || half->paused || path->relay->ended || d->pipe_write < 0) return;
    const size_t room = d->queued < d->capacity ? d->capacity - d->queued : 0;
    if (room == 0) {
      half->paused = true;
      return;
    }
    ssize_t n;
    do {
      n = splice(d->from, nullptr, d->pipe_write, nullptr, room, kFlags);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      half->bytes += static_cast<uint64_t>(n);
      d->queued += static_cast<size_t>(n);
      path->moved = true;
      pump_out(path, d);
      continue;
    }
    if (n == 0) {
      half->eof = true;
      return shut_when_drained(path, d);
    }
    if (errno == EAGAIN) {
      // Source empty, or the pipe out of slots while its destination is full:
      // either way the destination's progress resumes reading.
      if (d->queued > 0) half->paused = true;
      return;
    }
    if (!fall_back(path, errno)) relay_end(path->relay, std::strerror(errno));
    return;
  }
}

void on_poll(uv_poll_t* poll, int status, int events) {
  auto* path = static_cast<SplicePath*>(poll->data);
  Relay* relay = path->relay;
  if (relay->ended || path->up.pipe_read < 0) return;
  const bool app = poll == &path->app_poll;
  SpliceDirection* reading = app ? &path->up : &path->down;
  SpliceDirection* writing = app ? &path->down : &path->up;
  if (status < 0) {
    // POLLERR (libuv reports UV_EBADF and stops the handle): the socket's own error.
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(reading->from, SOL_SOCKET, SO_ERROR, &error, &length);
    return relay_end(relay, std::strerror(error != 0 ? error : EIO));
  }
  if (events & UV_WRITABLE) {
    const bool was_paused = writing->half->paused;
    writing->blocked = false;
    pump_out(path, writing);
    // The pipe has room again: read its source now rather than a loop turn later.
    if (was_paused && !relay->ended) pump_in(path, writing);
  }
  if (events & UV_READABLE) pump_in(path, reading);
  if (events == 0) return relay_end(relay, "hang-up");  // POLLHUP alone: both ways are gone
  if (path->up.pipe_read >= 0) rearm(path);  // still splicing (not fallen back)
}

int open_poll(uv_loop_t* loop, uv_poll_t* poll, bool* open, int fd, SplicePath* path) {
  if (*open) return 0;
  const int status = uv_poll_init_socket(loop, poll, fd);
  if (status != 0) return status;
  *open = true;
  poll->data = path;
  return 0;
}

}  // namespace

int splice_start(Relay* relay) {
  uv_os_fd_t app_fd;
  uv_os_fd_t upstream_fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(relay->up.from), &app_fd) != 0 ||
      uv_fileno(reinterpret_cast<uv_handle_t*>(relay->up.to), &upstream_fd) != 0)
    return UV_EBADF;
  if (!relay->splice) relay->splice = std::make_unique<SplicePath>();
  SplicePath* path = relay->splice.get();
  path->relay = relay;
  uv_loop_t* loop = relay->up.from->loop;
  // Kept open across a UV_EEXIST retry; relay_close closes them.
  int status = open_poll(loop, &path->app_poll, &path->app_poll_open, app_fd, path);
  if (status == 0) status = open_poll(loop, &path->upstream_poll, &path->upstream_poll_open, upstream_fd, path);
  if (status != 0) return status;
  const size_t high = relay->marks.high;
  if (!open_pipe(&path->up, high) || !open_pipe(&path->down, high)) {
    const int error = errno;
    close_pipe(&path->up);
    close_pipe(&path->down);
    return -(error != 0 ? error : EMFILE);
  }
  path->up.half = &relay->up;
  path->down.half = &relay->down;
  path->up.from = path->down.to = app_fd;
  path->up.to = path->down.from = upstream_fd;
  rearm(path);
  return 0;
}

int splice_close(SplicePath* path, uv_close_cb closed, void* owner) {
  close_pipe(&path->up);
  close_pipe(&path->down);
  int handles = 0;
  for (auto [poll, open] : {std::pair{&path->app_poll, &path->app_poll_open},
                            std::pair{&path->upstream_poll, &path->upstream_poll_open}}) {
    if (!*open) continue;
    *open = false;
    poll->data = owner;
    uv_close(reinterpret_cast<uv_handle_t*>(poll), closed);
    ++handles;
  }
  return handles;
}

}  // namespace netleash::netleashd
