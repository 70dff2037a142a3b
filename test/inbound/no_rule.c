/* Without a matching inbound rule: listen fails with EACCES, and the socket
 * stays usable (a later listen on a port with a rule works). A UDP bind, to a
 * fixed port or port 0, needs no rule: the socket is a client that chose its
 * source port (dig -b), which keeps the address it asked for and hears
 * nothing until it sends (udp_client_bind.py in test/shim sends). */
#include "inbound_test.h"

int main(void) {
  int vport = env_int("NLT_LISTEN_PORT");
  int no_rule_port = vport == 65535 ? 65534 : vport + 1;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((unsigned short)no_rule_port)};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(bind(fd, (struct sockaddr*)&sin, sizeof sin) == 0);
  errno = 0;
  CHECK(listen(fd, 4) == -1 && errno == EACCES);
  errno = 0;
  CHECK(accept(fd, NULL, NULL) == -1 && errno == EINVAL);
  CHECK(close(fd) == 0);

  int udp = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(bind(udp, (struct sockaddr*)&sin, sizeof sin) == 0);
  struct sockaddr_in got;
  socklen_t len = sizeof got;
  CHECK(getsockname(udp, (struct sockaddr*)&got, &len) == 0 && got.sin_port == sin.sin_port);
  char byte;
  errno = 0;
  CHECK(recv(udp, &byte, 1, MSG_DONTWAIT) == -1 && errno == EAGAIN);
  CHECK(close(udp) == 0);
  udp = socket(AF_INET, SOCK_DGRAM, 0);
  sin.sin_port = 0;
  CHECK(bind(udp, (struct sockaddr*)&sin, sizeof sin) == 0);
  CHECK(close(udp) == 0);

  int ok = listen_on(AF_INET, vport, 4);
  announce_and_get_real_port();
  ask_clients(1);
  int conn = accept(ok, NULL, NULL);
  CHECK(conn >= 0);
  serve_client(conn);
  printf("done\n");
  return 0;
}
