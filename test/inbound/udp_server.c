/* A UDP server: bind to a fixed virtual port opens the bound association;
 * recvfrom reports each client's real address and sendto answers it (no
 * outbound rule needed for a reply); a peer outside `from` never gets
 * through. After a daemon restart, the first recvfrom fails once with
 * ECONNREFUSED, and the shim's new bind is refused: the new daemon does not
 * know the process's tree, so the server stays closed (docs/identity.md). */
#include <poll.h>

#include "inbound_test.h"

static void echo(int fd, int n) {
  for (int i = 0; i < n; ++i) {
    char buf[256];
    struct sockaddr_storage from;
    socklen_t len = sizeof from;
    ssize_t got = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr*)&from, &len);
    CHECK(got > 0);
    CHECK(from.ss_family == AF_INET && ((struct sockaddr_in*)&from)->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    CHECK(sendto(fd, buf, (size_t)got, 0, (struct sockaddr*)&from, len) == got);
  }
}

static void expect(const char* word) {
  char got[32];
  CHECK(scanf("%31s", got) == 1);
  CHECK(strcmp(got, word) == 0);
}

int main(void) {
  int vport = env_int("NLT_LISTEN_PORT");
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((unsigned short)vport)};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(bind(fd, (struct sockaddr*)&sin, sizeof sin) == 0);
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  CHECK(getsockname(fd, (struct sockaddr*)&ss, &len) == 0 && port_of(&ss) == vport);
  announce_and_get_real_port();
  printf("udp-denied\n");
  fflush(stdout);
  expect("udp-denied-ok");
  struct pollfd p = {fd, POLLIN, 0};
  CHECK(poll(&p, 1, 0) == 0);  /* the outsider's datagram was dropped */
  printf("udp 3\n");
  fflush(stdout);
  echo(fd, 3);
  expect("udp-ok");

  printf("stop\n");
  fflush(stdout);
  expect("stopped");
  printf("start\n");
  fflush(stdout);
  expect("started");
  errno = 0;
  CHECK(recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL) == -1 && errno == ECONNREFUSED);
  CHECK(recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL) == -1);  /* nothing, ever */
  printf("done\n");
  return 0;
}
