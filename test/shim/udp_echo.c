/* UDP through the daemon: sendto/recvfrom (real source reported), connect +
 * send/recv and read/write (framing stripped), sendmsg with and without
 * msg_name, datagram boundaries kept, a denied destination fails with EACCES. */
#include <sys/uio.h>

#include "nltest.h"

static void run(int family, int port, int denied_port) {
  struct sockaddr_storage dst, from;
  socklen_t dlen = loopback(family, port, &dst), flen;
  char buf[2048];

  int fd = socket(family, SOCK_DGRAM, 0);
  CHECK(fd >= 0);
  CHECK(sendto(fd, "hello", 5, 0, (struct sockaddr*)&dst, dlen) == 5);
  flen = sizeof from;
  CHECK(recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr*)&from, &flen) == 5);
  CHECK(memcmp(buf, "hello", 5) == 0);
  CHECK(flen == dlen && memcmp(&from, &dst, dlen) == 0);

  /* Boundaries: three datagrams come back as three. */
  CHECK(sendto(fd, "a", 1, 0, (struct sockaddr*)&dst, dlen) == 1);
  CHECK(sendto(fd, "bbbbbbbbbb", 10, 0, (struct sockaddr*)&dst, dlen) == 10);
  CHECK(sendto(fd, "", 0, 0, (struct sockaddr*)&dst, dlen) == 0);
  CHECK(recv(fd, buf, sizeof buf, 0) == 1);
  CHECK(recv(fd, buf, sizeof buf, 0) == 10);
  CHECK(recv(fd, buf, sizeof buf, 0) == 0);

  /* sendmsg with msg_name, recvmsg with it. */
  struct iovec iov[2] = {{(void*)"msg", 3}, {(void*)"name", 4}};
  struct msghdr m = {0};
  m.msg_name = &dst;
  m.msg_namelen = dlen;
  m.msg_iov = iov;
  m.msg_iovlen = 2;
  CHECK(sendmsg(fd, &m, 0) == 7);
  struct iovec riov = {buf, sizeof buf};
  struct msghdr r = {0};
  r.msg_name = &from;
  r.msg_namelen = sizeof from;
  r.msg_iov = &riov;
  r.msg_iovlen = 1;
  CHECK(recvmsg(fd, &r, 0) == 7 && memcmp(buf, "msgname", 7) == 0);
  CHECK(r.msg_namelen == dlen && port_of(&from) == port);

  /* Truncation is reported like the kernel does. */
  CHECK(sendto(fd, "0123456789", 10, 0, (struct sockaddr*)&dst, dlen) == 10);
  riov.iov_len = 4;
  r.msg_namelen = sizeof from;
  CHECK(recvmsg(fd, &r, 0) == 4 && (r.msg_flags & MSG_TRUNC));

  /* Denied: nothing leaves, EACCES at once. */
  struct sockaddr_storage bad;
  socklen_t blen = loopback(family, denied_port, &bad);
  CHECK_ERRNO(sendto(fd, "no", 2, 0, (struct sockaddr*)&bad, blen), EACCES);
  CHECK_ERRNO(sendto(fd, "no", 2, 0, (struct sockaddr*)&bad, blen), EACCES); /* cached answer */
  CHECK_ERRNO(send(fd, "x", 1, 0), EDESTADDRREQ);
  close(fd);

  /* Connected UDP: send/recv, write/read, sendmsg without a name. */
  fd = socket(family, SOCK_DGRAM, 0);
  CHECK(fd >= 0);
  CHECK_ERRNO(connect(fd, (struct sockaddr*)&bad, blen), EACCES);
  CHECK(connect(fd, (struct sockaddr*)&dst, dlen) == 0);
  flen = sizeof from;
  CHECK(getpeername(fd, (struct sockaddr*)&from, &flen) == 0 && port_of(&from) == port);
  CHECK(send(fd, "conn", 4, 0) == 4);
  CHECK(recv(fd, buf, sizeof buf, 0) == 4 && memcmp(buf, "conn", 4) == 0);
  CHECK(write(fd, "rw", 2) == 2);
  CHECK(read(fd, buf, sizeof buf) == 2 && memcmp(buf, "rw", 2) == 0);
  m.msg_name = NULL;
  m.msg_namelen = 0;
  CHECK(sendmsg(fd, &m, 0) == 7);
  CHECK(read(fd, buf, sizeof buf) == 7 && memcmp(buf, "msgname", 7) == 0);
  int type = 0;
  socklen_t tl = sizeof type;
  CHECK(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_DGRAM);
  close(fd);
}

int main(void) {
  run(AF_INET, env_int("NLT_UDP4_PORT"), env_int("NLT_DENIED_PORT"));
  run(AF_INET6, env_int("NLT_UDP6_PORT"), env_int("NLT_DENIED_PORT"));
  return 0;
}
