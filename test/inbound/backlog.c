/* The backlog passed to listen() bounds the connections queued for the app:
 * with listen(fd, 2) and six clients, two wait on the listening socket (two
 * AcceptRecords: FIONREAD says 64 bytes) and no more until the app accepts;
 * then every client is served. Closing the socket closes the real listener. */
#include <poll.h>
#include <sys/ioctl.h>

#include "inbound_test.h"

static int queued_bytes(int fd) {
  int n = -1;
  CHECK(ioctl(fd, FIONREAD, &n) == 0);
  return n;
}

int main(void) {
  int fd = listen_on(AF_INET, env_int("NLT_LISTEN_PORT"), 2);
  announce_and_get_real_port();
  ask_clients(6);
  for (int i = 0; i < 1000 && queued_bytes(fd) < 64; ++i) poll(NULL, 0, 10);
  CHECK(queued_bytes(fd) == 64);
  poll(NULL, 0, 300);  /* proving a negative: no third record arrives */
  CHECK(queued_bytes(fd) == 64);
  for (int i = 0; i < 6; ++i) {
    int conn = accept(fd, NULL, NULL);
    CHECK(conn >= 0);
    serve_client(conn);
  }
  CHECK(close(fd) == 0);
  printf("closed\n");
  fflush(stdout);
  char word[16];
  CHECK(scanf("%15s", word) == 1);
  printf("done\n");
  return 0;
}
