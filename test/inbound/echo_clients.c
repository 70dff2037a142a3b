/* Load generator (runs unpatched): N concurrent connections to 127.0.0.1:PORT,
 * each sending BYTES of a pattern particular to it while reading the echo,
 * checked byte for byte. Prints the elapsed time. usage: echo_clients PORT N BYTES */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
  int fd;
  unsigned id;
  size_t sent, received;
  int shut;
};

static unsigned char pattern(unsigned id, size_t offset) { return (unsigned char)((offset * 131u + id * 7u) >> 3); }

static void die(const char* what) {
  fprintf(stderr, "echo_clients: %s: %s\n", what, strerror(errno));
  exit(1);
}

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  int port = atoi(argv[1]), n = atoi(argv[2]);
  size_t bytes = (size_t)atol(argv[3]);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int ep = epoll_create1(0);
  struct conn* conns = calloc((size_t)n, sizeof *conns);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr*)&sin, sizeof sin) != 0 && errno != EINPROGRESS) die("connect");
    conns[i] = (struct conn){fd, (unsigned)i, 0, 0, 0};
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = &conns[i]};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
  }
  int done = 0;
  unsigned char buf[65536];
  struct epoll_event events[256];
  while (done < n) {
    int k = epoll_wait(ep, events, 256, 60000);
    if (k <= 0) die("epoll_wait (stalled)");
    for (int e = 0; e < k; ++e) {
      struct conn* c = events[e].data.ptr;
      if ((events[e].events & EPOLLOUT) && c->sent < bytes) {
        size_t chunk = bytes - c->sent < sizeof buf ? bytes - c->sent : sizeof buf;
        for (size_t j = 0; j < chunk; ++j) buf[j] = pattern(c->id, c->sent + j);
        ssize_t w = send(c->fd, buf, chunk, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN) die("send");
        if (w > 0) c->sent += (size_t)w;
        if (c->sent == bytes && !c->shut) {
          shutdown(c->fd, SHUT_WR);
          c->shut = 1;
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        }
      }
      if (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        for (;;) {
          ssize_t r = recv(c->fd, buf, sizeof buf, 0);
          if (r < 0 && errno == EAGAIN) break;
          if (r < 0) die("recv");
          if (r == 0) {
            if (c->received != bytes) {
              fprintf(stderr, "echo_clients: connection %u ended after %zu of %zu bytes\n", c->id, c->received, bytes);
              return 1;
            }
            close(c->fd);
            ++done;
            break;
          }
          for (ssize_t j = 0; j < r; ++j) {
            if (buf[j] != pattern(c->id, c->received + (size_t)j)) {
              fprintf(stderr, "echo_clients: connection %u: wrong byte at %zu\n", c->id, c->received + (size_t)j);
              return 1;
            }
          }
          c->received += (size_t)r;
        }
      }
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("echo_clients: %d connections x %zu bytes echoed byte-exact in %.2f s (%.0f MiB/s each way)\n", n, bytes, s,
         (double)n * (double)bytes / s / 1048576.0);
  return 0;
}
