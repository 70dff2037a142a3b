/* 1,000 concurrent outbound connections, each echoing 1 MiB byte-exact,
 * driven by one poll loop as an event-driven client would: non-blocking
 * connects (EINPROGRESS, POLLOUT), writes and reads interleaved, shutdown
 * after the last byte, EOF after the last echoed byte. Every connection has
 * its own byte pattern, so bytes crossing between connections are caught. */
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>

#include "nltest.h"

enum { kConnections = 1000, kBytes = 1 << 20, kChunk = 16384 };

struct conn {
  int fd;
  size_t sent;
  size_t received;
  int shut;
  int eof;
};

static unsigned char pattern(int id, size_t offset) {
  return (unsigned char)(((offset >> 3) * 2654435761u + (unsigned)id * 40503u) >> 11);
}

static void raise_fd_limit(void) {
  struct rlimit rl;
  CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  rl.rlim_cur = rl.rlim_max;
  CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
  CHECK(rl.rlim_cur >= kConnections + 64);
}

static void start(struct conn* c, int port) {
  struct sockaddr_storage ss;
  socklen_t len = loopback(AF_INET, port, &ss);
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK(c->fd >= 0);
  int r = connect(c->fd, (struct sockaddr*)&ss, len);
  CHECK(r == 0 || errno == EINPROGRESS);
}

static void on_writable(struct conn* c, int id) {
  unsigned char buf[kChunk];
  size_t n = kBytes - c->sent < sizeof buf ? kBytes - c->sent : sizeof buf;
  for (size_t i = 0; i < n; ++i) buf[i] = pattern(id, c->sent + i);
  ssize_t w = write(c->fd, buf, n);
  if (w < 0) {
    CHECK(errno == EAGAIN);
    return;
  }
  c->sent += (size_t)w;
  if (c->sent == kBytes) {
    CHECK(shutdown(c->fd, SHUT_WR) == 0);
    c->shut = 1;
  }
}

static void on_readable(struct conn* c, int id) {
  unsigned char buf[kChunk];
  ssize_t n = read(c->fd, buf, sizeof buf);
  if (n < 0) {
    CHECK(errno == EAGAIN);
    return;
  }
  if (n == 0) {
    CHECK(c->received == kBytes);
    c->eof = 1;
    return;
  }
  for (ssize_t i = 0; i < n; ++i) CHECK(buf[i] == pattern(id, c->received + (size_t)i));
  c->received += (size_t)n;
}

int main(void) {
  raise_fd_limit();
  int port = env_int("NLT_TCP4_PORT");
  static struct conn conns[kConnections];
  static struct pollfd fds[kConnections];
  for (int i = 0; i < kConnections; ++i) start(&conns[i], port);
  double t0 = now_ms();
  int done = 0;
  while (done < kConnections) {
    for (int i = 0; i < kConnections; ++i) {
      fds[i].fd = conns[i].eof ? -1 : conns[i].fd;
      fds[i].events = (short)(POLLIN | (conns[i].shut ? 0 : POLLOUT));
      fds[i].revents = 0;
    }
    int ready = poll(fds, kConnections, 60000);
    CHECK(ready > 0);
    for (int i = 0; i < kConnections; ++i) {
      if (fds[i].revents == 0) continue;
      CHECK(!(fds[i].revents & (POLLERR | POLLNVAL)));
      if (fds[i].revents & POLLOUT) on_writable(&conns[i], i);
      if (fds[i].revents & (POLLIN | POLLHUP)) on_readable(&conns[i], i);
      if (conns[i].eof) {
        CHECK(close(conns[i].fd) == 0);
        ++done;
      }
    }
  }
  printf("%d connections x %d bytes echoed byte-exact in %.0f ms\n", kConnections, kBytes, now_ms() - t0);
  return 0;
}
