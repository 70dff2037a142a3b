/* Socket options keep their meaning on a virtual socket: TCP options and
 * buffer sizes are remembered (and sent to the daemon), IP-level options are
 * accepted and echoed, unknown levels fail as on a real socket; a connection
 * made after setting them works. */
#include <netinet/ip.h>
#include <netinet/tcp.h>

#include "nltest.h"

static int get(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  CHECK(getsockopt(fd, level, name, &v, &len) == 0);
  return v;
}

static void set(int fd, int level, int name, int v) { CHECK(setsockopt(fd, level, name, &v, sizeof v) == 0); }

int main(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  CHECK(get(fd, IPPROTO_TCP, TCP_NODELAY) == 0);
  set(fd, IPPROTO_TCP, TCP_NODELAY, 1);
  CHECK(get(fd, IPPROTO_TCP, TCP_NODELAY) == 1);
  set(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
  CHECK(get(fd, SOL_SOCKET, SO_KEEPALIVE) == 1);
  set(fd, IPPROTO_TCP, TCP_KEEPIDLE, 30);
  set(fd, IPPROTO_TCP, TCP_KEEPINTVL, 5);
  set(fd, IPPROTO_TCP, TCP_KEEPCNT, 3);
  CHECK(get(fd, IPPROTO_TCP, TCP_KEEPIDLE) == 30);
  CHECK(get(fd, IPPROTO_TCP, TCP_KEEPINTVL) == 5);
  CHECK(get(fd, IPPROTO_TCP, TCP_KEEPCNT) == 3);
  set(fd, SOL_SOCKET, SO_SNDBUF, 65536);
  CHECK(get(fd, SOL_SOCKET, SO_SNDBUF) == 131072); /* Linux reports double */
  set(fd, SOL_SOCKET, SO_RCVBUF, 65536);
  CHECK(get(fd, SOL_SOCKET, SO_RCVBUF) == 131072);
  set(fd, IPPROTO_IP, IP_TOS, 0x10);
  CHECK(get(fd, IPPROTO_IP, IP_TOS) == 0x10);
  set(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  CHECK(get(fd, SOL_SOCKET, SO_REUSEADDR) == 1);
  set(fd, IPPROTO_TCP, TCP_QUICKACK, 1);
  int bad = 1;
  CHECK_ERRNO(setsockopt(fd, 12345, 1, &bad, sizeof bad), ENOPROTOOPT);
  CHECK_ERRNO(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &bad, 1), EINVAL);

  struct sockaddr_storage ss;
  socklen_t len = loopback(AF_INET, env_int("NLT_TCP4_PORT"), &ss);
  CHECK(connect(fd, (struct sockaddr*)&ss, len) == 0);
  echo_roundtrip(fd, "options survive connect");
  CHECK(get(fd, IPPROTO_TCP, TCP_NODELAY) == 1);
  CHECK(get(fd, SOL_SOCKET, SO_TYPE) == SOCK_STREAM);
  close(fd);

  int v6 = socket(AF_INET6, SOCK_STREAM, 0);
  set(v6, IPPROTO_IPV6, IPV6_V6ONLY, 1);
  CHECK(get(v6, IPPROTO_IPV6, IPV6_V6ONLY) == 1);
  close(v6);
  return 0;
}
