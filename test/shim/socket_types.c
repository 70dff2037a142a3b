/* socket() matrix: Internet TCP/UDP with SOCK_NONBLOCK/SOCK_CLOEXEC look like
 * Internet sockets (SO_TYPE/SO_DOMAIN/SO_PROTOCOL, flags honoured); raw,
 * packet and ping sockets are refused with EACCES; AF_UNIX and AF_NETLINK
 * pass through untouched; socketpair works. */
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/tcp.h>

#include "nltest.h"

static int opt(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  CHECK(getsockopt(fd, level, name, &v, &len) == 0);
  CHECK(len == sizeof v);
  return v;
}

int main(void) {
  static const int families[] = {AF_INET, AF_INET6};
  static const int types[] = {SOCK_STREAM, SOCK_DGRAM};
  static const int flag_sets[] = {0, SOCK_NONBLOCK, SOCK_CLOEXEC, SOCK_NONBLOCK | SOCK_CLOEXEC};
  for (int f = 0; f < 2; ++f)
    for (int t = 0; t < 2; ++t)
      for (int s = 0; s < 4; ++s) {
        int fd = socket(families[f], types[t] | flag_sets[s], 0);
        CHECK(fd >= 0);
        CHECK(opt(fd, SOL_SOCKET, SO_TYPE) == types[t]);
        CHECK(opt(fd, SOL_SOCKET, SO_DOMAIN) == families[f]);
        CHECK(opt(fd, SOL_SOCKET, SO_PROTOCOL) == (types[t] == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP));
        CHECK(opt(fd, SOL_SOCKET, SO_ERROR) == 0);
        CHECK(opt(fd, SOL_SOCKET, SO_ACCEPTCONN) == 0);
        CHECK(((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0) == ((flag_sets[s] & SOCK_NONBLOCK) != 0));
        CHECK(((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0) == ((flag_sets[s] & SOCK_CLOEXEC) != 0));
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        CHECK(getsockname(fd, (struct sockaddr*)&ss, &len) == 0);
        CHECK(ss.ss_family == families[f]);
        CHECK(close(fd) == 0);
      }
  /* Explicit protocols. */
  int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  CHECK(fd >= 0 && close(fd) == 0);
  fd = socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
  CHECK(fd >= 0 && close(fd) == 0);
  CHECK_ERRNO(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);

  /* Refused: raw, packet, ping. */
  CHECK_ERRNO(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), EACCES);
  CHECK_ERRNO(socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6), EACCES);
  CHECK_ERRNO(socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_RAW), EACCES);
  CHECK_ERRNO(socket(AF_PACKET, SOCK_RAW, 0), EACCES);
  CHECK_ERRNO(socket(AF_PACKET, SOCK_DGRAM, 0), EACCES);
  CHECK_ERRNO(socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), EACCES);

  /* Untouched families. */
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(fd >= 0);
  CHECK(opt(fd, SOL_SOCKET, SO_DOMAIN) == AF_UNIX);
  CHECK(close(fd) == 0);
  fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  CHECK(fd >= 0);
  CHECK(opt(fd, SOL_SOCKET, SO_DOMAIN) == AF_NETLINK);
  CHECK(close(fd) == 0);

  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  CHECK(write(sv[0], "x", 1) == 1);
  char c;
  CHECK(read(sv[1], &c, 1) == 1 && c == 'x');
  CHECK(opt(sv[1], SOL_SOCKET, SO_DOMAIN) == AF_UNIX);
  close(sv[0]);
  close(sv[1]);
  CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) == 0);
  close(sv[0]);
  close(sv[1]);
  CHECK_ERRNO(socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);
  return 0;
}
