/* Byte-exact bulk transfer both ways over a connection made with a
 * non-blocking connect (so after the padding trick and the SO_SNDBUF
 * restore), driven by poll like an event loop: 16 MiB out, 16 MiB echoed back. */
#include <fcntl.h>
#include <poll.h>

#include "nltest.h"

#define TOTAL (16u << 20)

static unsigned char pattern(size_t i) { return (unsigned char)(i * 2654435761u >> 13); }

int main(void) {
  struct sockaddr_storage ss;
  socklen_t len = loopback(AF_INET, env_int("NLT_TCP4_PORT"), &ss);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK(fd >= 0);
  CHECK_ERRNO(connect(fd, (struct sockaddr*)&ss, len), EINPROGRESS);
  struct pollfd p = {fd, POLLOUT, 0};
  CHECK(poll(&p, 1, 10000) == 1);
  int err = -1;
  socklen_t el = sizeof err;
  CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0);

  static unsigned char out[65536], in[65536];
  size_t sent = 0, received = 0;
  double t0 = now_ms();
  while (received < TOTAL) {
    p.events = (short)(POLLIN | (sent < TOTAL ? POLLOUT : 0));
    CHECK(poll(&p, 1, 10000) == 1);
    if ((p.revents & POLLOUT) && sent < TOTAL) {
      size_t n = TOTAL - sent < sizeof out ? TOTAL - sent : sizeof out;
      for (size_t i = 0; i < n; ++i) out[i] = pattern(sent + i);
      ssize_t w = write(fd, out, n);
      CHECK(w > 0 || errno == EAGAIN);
      if (w > 0) sent += (size_t)w;
    }
    if (p.revents & POLLIN) {
      ssize_t r = read(fd, in, sizeof in);
      CHECK(r > 0 || (r < 0 && errno == EAGAIN));
      for (ssize_t i = 0; i < r; ++i)
        if (in[i] != pattern(received + (size_t)i)) {
          fprintf(stderr, "mismatch at byte %zu\n", received + (size_t)i);
          return 1;
        }
      if (r > 0) received += (size_t)r;
    }
  }
  double dt = now_ms() - t0;
  printf("16 MiB each way in %.0f ms (%.0f MiB/s echoed)\n", dt, 16 / (dt / 1000));
  CHECK(shutdown(fd, SHUT_WR) == 0);
  fcntl(fd, F_SETFL, 0);
  char c;
  CHECK(read(fd, &c, 1) == 0);
  close(fd);
  return 0;
}
