/* The daemon restarts under a running program: an established TCP
 * connection ends (EOF or ECONNRESET, never a hang), a UDP socket that had
 * an association keeps working (the shim opens a new one), and new
 * connections work, all without restarting the program. The runner restarts
 * the daemon after "ready" and answers "up". */
#include <poll.h>

#include "nltest.h"

int main(void) {
  int port = env_int("NLT_TCP4_PORT");
  struct sockaddr_storage us;
  socklen_t ulen = loopback(AF_INET, env_int("NLT_UDP4_PORT"), &us);
  int t = tcp_connect_loopback(AF_INET, port);
  echo_roundtrip(t, "before");
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(sendto(u, "a", 1, 0, (struct sockaddr*)&us, ulen) == 1);
  char c;
  CHECK(recv(u, &c, 1, 0) == 1);

  printf("ready\n");
  fflush(stdout);
  char line[16];
  CHECK(fgets(line, sizeof line, stdin) != NULL && strncmp(line, "up", 2) == 0);

  char buf[16];
  ssize_t n = read(t, buf, sizeof buf);
  CHECK(n == 0 || (n == -1 && errno == ECONNRESET));
  close(t);

  CHECK(sendto(u, "b", 1, 0, (struct sockaddr*)&us, ulen) == 1);
  struct pollfd p = {u, POLLIN, 0};
  CHECK(poll(&p, 1, 10000) == 1);
  CHECK(recv(u, &c, 1, 0) == 1 && c == 'b');

  t = tcp_connect_loopback(AF_INET, port);
  echo_roundtrip(t, "after");
  return 0;
}
