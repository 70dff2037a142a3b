/* getsockname/getpeername on the listening and the accepted socket, the
 * address accept reports, and the options a server sets on its listener. */
#include <netinet/tcp.h>

#include "inbound_test.h"

static int get_int(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  CHECK(getsockopt(fd, level, name, &v, &len) == 0);
  return v;
}

int main(void) {
  int vport = env_int("NLT_LISTEN_PORT");
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0);
  CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) == 0);
  CHECK(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((unsigned short)vport)};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(bind(fd, (struct sockaddr*)&sin, sizeof sin) == 0);
  errno = 0;
  CHECK(bind(fd, (struct sockaddr*)&sin, sizeof sin) == -1 && errno == EINVAL);  /* bound already */
  CHECK(get_int(fd, SOL_SOCKET, SO_ACCEPTCONN) == 0);
  CHECK(listen(fd, 8) == 0);
  CHECK(listen(fd, 16) == 0);  /* again: only the backlog changes */
  CHECK(get_int(fd, SOL_SOCKET, SO_ACCEPTCONN) == 1);
  CHECK(get_int(fd, SOL_SOCKET, SO_REUSEADDR) == 1);
  CHECK(get_int(fd, SOL_SOCKET, SO_REUSEPORT) == 1);
  CHECK(get_int(fd, SOL_SOCKET, SO_TYPE) == SOCK_STREAM);
  CHECK(get_int(fd, SOL_SOCKET, SO_DOMAIN) == AF_INET);

  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  CHECK(getsockname(fd, (struct sockaddr*)&ss, &len) == 0);
  CHECK(len == sizeof(struct sockaddr_in) && port_of(&ss) == vport);
  CHECK(((struct sockaddr_in*)&ss)->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
  len = sizeof ss;
  errno = 0;
  CHECK(getpeername(fd, (struct sockaddr*)&ss, &len) == -1 && errno == ENOTCONN);
  errno = 0;
  CHECK(connect(fd, (struct sockaddr*)&sin, sizeof sin) == -1);

  announce_and_get_real_port();
  ask_clients(1);
  struct sockaddr_storage from;
  socklen_t from_len = sizeof from;
  int conn = accept(fd, (struct sockaddr*)&from, &from_len);
  CHECK(conn >= 0);
  CHECK(from_len == sizeof(struct sockaddr_in) && from.ss_family == AF_INET);
  CHECK(((struct sockaddr_in*)&from)->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
  len = sizeof ss;
  CHECK(getsockname(conn, (struct sockaddr*)&ss, &len) == 0);
  CHECK(port_of(&ss) == vport && ((struct sockaddr_in*)&ss)->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
  struct sockaddr_storage peer;
  len = sizeof peer;
  CHECK(getpeername(conn, (struct sockaddr*)&peer, &len) == 0);
  CHECK(port_of(&peer) == port_of(&from));
  CHECK(get_int(conn, SOL_SOCKET, SO_TYPE) == SOCK_STREAM);
  CHECK(get_int(conn, SOL_SOCKET, SO_ACCEPTCONN) == 0);
  CHECK(get_int(conn, IPPROTO_TCP, TCP_NODELAY) == 1);  /* inherited from the listener */
  serve_client(conn);

  /* An IPv6 wildcard listener: V6ONLY is stored, IPv4 peers come v4-mapped. */
  int fd6 = socket(AF_INET6, SOCK_STREAM, 0);
  int off = 0;
  CHECK(setsockopt(fd6, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) == 0);
  CHECK(get_int(fd6, IPPROTO_IPV6, IPV6_V6ONLY) == 0);
  struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons((unsigned short)env_int("NLT_LISTEN_PORT6"))};
  sin6.sin6_addr = in6addr_any;
  CHECK(bind(fd6, (struct sockaddr*)&sin6, sizeof sin6) == 0);
  CHECK(listen(fd6, 4) == 0);
  announce_and_get_real_port();
  ask_clients(1);
  struct sockaddr_in6 from6;
  socklen_t from6_len = sizeof from6;
  int conn6 = accept(fd6, (struct sockaddr*)&from6, &from6_len);
  CHECK(conn6 >= 0 && from6.sin6_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&from6.sin6_addr));
  len = sizeof ss;
  CHECK(getsockname(conn6, (struct sockaddr*)&ss, &len) == 0 && ss.ss_family == AF_INET6);
  serve_client(conn6);
  CHECK(close(fd6) == 0);
  CHECK(close(fd) == 0);
  printf("done\n");
  return 0;
}
