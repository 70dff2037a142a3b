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

  /* sendmmsg/recvmmsg on a stream. */
  struct iovec mm_iov[2] = {{(void*)"mm", 2}, {(void*)"sg", 2}};
  struct mmsghdr mm[2];
  memset(mm, 0, sizeof mm);
  for (int i = 0; i < 2; ++i) {
    mm[i].msg_hdr.msg_iov = &mm_iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
  }
  CHECK(sendmmsg(fd, mm, 2, 0) == 2 && mm[0].msg_len == 2 && mm[1].msg_len == 2);
  read_exactly(fd, buf, 4);
  CHECK(memcmp(buf, "mmsg", 4) == 0);

  /* Half-close: the echo server sees EOF, finishes, and closes its side. */
  CHECK(write(fd, "bye", 3) == 3);
  CHECK(shutdown(fd, SHUT_WR) == 0);
  read_exactly(fd, buf, 3);
  CHECK(memcmp(buf, "bye", 3) == 0);
  CHECK(read(fd, buf, sizeof buf) == 0);
  CHECK(close(fd) == 0);
}

/* An AF_INET6 socket reaching an IPv4 server through a v4-mapped address
 * (the daemon matches it as IPv4), and sendto(MSG_FASTOPEN) on an
 * unconnected socket, which is connect + send. */
static void mapped_and_fastopen(int port) {
  struct sockaddr_in6 m = {0};
  m.sin6_family = AF_INET6;
  m.sin6_port = htons((unsigned short)port);
  CHECK(inet_pton(AF_INET6, "::ffff:127.0.0.1", &m.sin6_addr) == 1);
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  CHECK(fd >= 0 && connect(fd, (struct sockaddr*)&m, sizeof m) == 0);
  echo_roundtrip(fd, "v4-mapped");
  struct sockaddr_in6 peer;
  socklen_t len = sizeof peer;
  CHECK(getpeername(fd, (struct sockaddr*)&peer, &len) == 0 && memcmp(&peer.sin6_addr, &m.sin6_addr, 16) == 0);
  close(fd);

  struct sockaddr_storage ss;
  socklen_t slen = loopback(AF_INET, port, &ss);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(sendto(fd, "tfo", 3, MSG_FASTOPEN, (struct sockaddr*)&ss, slen) == 3);
  char buf[3];
  read_exactly(fd, buf, 3);
  CHECK(memcmp(buf, "tfo", 3) == 0);
  /* On a connected stream a destination and MSG_FASTOPEN are ignored. */
  CHECK(sendto(fd, "again", 5, MSG_FASTOPEN, (struct sockaddr*)&ss, slen) == 5);
  char buf5[5];
  read_exactly(fd, buf5, 5);
  close(fd);
}

int main(void) {
  run(AF_INET, env_int("NLT_TCP4_PORT"));
  run(AF_INET6, env_int("NLT_TCP6_PORT"));
  mapped_and_fastopen(env_int("NLT_TCP4_PORT"));
  return 0;
}
