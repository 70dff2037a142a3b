/* The daemon restarts under a running program: an established TCP
 * connection ends (EOF or ECONNRESET, never a hang), and the program's
 * network stays closed (EACCES, never a hang): the new daemon does not know
 * the process's tree, so it decides nothing for it (docs/identity.md). The
 * runner restarts the daemon after "ready" and answers "up". */

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

  CHECK_ERRNO(sendto(u, "b", 1, 0, (struct sockaddr*)&us, ulen), EACCES);
  struct sockaddr_storage ss;
  socklen_t len = loopback(AF_INET, port, &ss);
  t = socket(AF_INET, SOCK_STREAM, 0);
  CHECK_ERRNO(connect(t, (struct sockaddr*)&ss, len), EACCES);
  return 0;
}
