/* bind to port 0: getsockname shows an invented ephemeral port, listen is
 * matched against the rule whose listen port is 0, and accept works. An
 * unbound socket that listens is bound the same way. */
#include "inbound_test.h"

static void check_one(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  CHECK(getsockname(fd, (struct sockaddr*)&ss, &len) == 0);
  CHECK(port_of(&ss) >= 1024);
  CHECK(listen(fd, 4) == 0);
  struct sockaddr_storage after;
  len = sizeof after;
  CHECK(getsockname(fd, (struct sockaddr*)&after, &len) == 0 && port_of(&after) == port_of(&ss));
  announce_and_get_real_port();
  ask_clients(1);
  int conn = accept(fd, NULL, NULL);
  CHECK(conn >= 0);
  serve_client(conn);
  CHECK(close(fd) == 0);
}

int main(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(bind(fd, (struct sockaddr*)&sin, sizeof sin) == 0);
  check_one(fd);

  int unbound = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  CHECK(setsockopt(unbound, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0);
  /* listen without bind: getsockname before it says port 0, as the kernel does */
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  CHECK(getsockname(unbound, (struct sockaddr*)&ss, &len) == 0 && port_of(&ss) == 0);
  CHECK(listen(unbound, 4) == 0);
  len = sizeof ss;
  CHECK(getsockname(unbound, (struct sockaddr*)&ss, &len) == 0 && port_of(&ss) >= 1024);
  printf("listening\n");
  fflush(stdout);
  int port;
  CHECK(scanf("%d", &port) == 1);
  ask_clients(1);
  int conn = accept(unbound, NULL, NULL);
  CHECK(conn >= 0);
  serve_client(conn);
  printf("done\n");
  return 0;
}
