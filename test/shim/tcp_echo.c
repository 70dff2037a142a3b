/* Blocking connect, then echo through every data call, IPv4 and IPv6;
 * getpeername/getsockname before and after; EISCONN; shutdown(SHUT_WR). */
#include <sys/uio.h>

#include "nltest.h"

static void run(int family, int port) {
  struct sockaddr_storage ss, got;
  socklen_t len = loopback(family, port, &ss), glen = sizeof got;
  int fd = socket(family, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  CHECK_ERRNO(getpeername(fd, (struct sockaddr*)&got, &glen), ENOTCONN);
  CHECK(connect(fd, (struct sockaddr*)&ss, len) == 0);
  CHECK_ERRNO(connect(fd, (struct sockaddr*)&ss, len), EISCONN);

  glen = sizeof got;
  CHECK(getpeername(fd, (struct sockaddr*)&got, &glen) == 0);
  CHECK(got.ss_family == family && glen == len && port_of(&got) == port);
  CHECK(memcmp(&got, &ss, len) == 0);
  glen = sizeof got;
  CHECK(getsockname(fd, (struct sockaddr*)&got, &glen) == 0);
  CHECK(got.ss_family == family && port_of(&got) != 0);

  echo_roundtrip(fd, "write/read");

  char buf[64];
  CHECK(send(fd, "send/recv", 9, 0) == 9);
  size_t got_n = 0;
  while (got_n < 9) {
    ssize_t r = recv(fd, buf + got_n, 9 - got_n, 0);
    CHECK(r > 0);
    got_n += (size_t)r;
  }
  CHECK(memcmp(buf, "send/recv", 9) == 0);

  struct iovec out[2] = {{(void*)"write", 5}, {(void*)"v", 1}};
  CHECK(writev(fd, out, 2) == 6);
  char a[3], b[3];
  struct iovec in[2] = {{a, 3}, {b, 3}};
  got_n = 0;
  while (got_n < 6) {  /* the echo may come back in pieces */
    ssize_t r = got_n == 0 ? readv(fd, in, 2) : read(fd, (got_n < 3 ? a + got_n : b + got_n - 3), got_n < 3 ? 3 - got_n : 6 - got_n);
    CHECK(r > 0);
    got_n += (size_t)r;
  }
  CHECK(memcmp(a, "wri", 3) == 0 && memcmp(b, "tev", 3) == 0);

  struct iovec mv = {(void*)"sendmsg", 7};
  struct msghdr m = {0};
  m.msg_iov = &mv;
  m.msg_iovlen = 1;
  CHECK(sendmsg(fd, &m, 0) == 7);
  struct sockaddr_storage from;
  struct iovec rv = {buf, 7};
  struct msghdr r = {0};
  r.msg_name = &from;
  r.msg_namelen = sizeof from;
  r.msg_iov = &rv;
  r.msg_iovlen = 1;
  got_n = 0;
  while (got_n < 7) {
    rv.iov_base = buf + got_n;
    rv.iov_len = 7 - got_n;
    ssize_t n = recvmsg(fd, &r, 0);
    CHECK(n > 0);
    CHECK(r.msg_namelen == 0); /* TCP reports no source */
    got_n += (size_t)n;
  }
  CHECK(memcmp(buf, "sendmsg", 7) == 0);

  /* Half-close: the echo server sees EOF, finishes, and closes its side. */
  CHECK(write(fd, "bye", 3) == 3);
  CHECK(shutdown(fd, SHUT_WR) == 0);
  read_exactly(fd, buf, 3);
  CHECK(memcmp(buf, "bye", 3) == 0);
  CHECK(read(fd, buf, sizeof buf) == 0);
  CHECK(close(fd) == 0);
}

int main(void) {
  run(AF_INET, env_int("NLT_TCP4_PORT"));
  run(AF_INET6, env_int("NLT_TCP6_PORT"));
  return 0;
}
