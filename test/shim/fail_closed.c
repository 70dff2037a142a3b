/* Fail closed, and stay closed. The runner stops the daemon before this
 * starts: connect gets ECONNREFUSED (blocking and non-blocking), UDP sendto
 * ECONNREFUSED, resolution EAI_AGAIN. Then it prints "down-ok", the runner
 * starts the daemon and answers "up" on stdin: the process could not offer
 * its tree when it started, so the daemon denies it everything (EACCES),
 * promptly (docs/identity.md). */
#include <netdb.h>

#include "nltest.h"

int main(void) {
  int port = env_int("NLT_TCP4_PORT");
  struct sockaddr_storage ss, us;
  socklen_t len = loopback(AF_INET, port, &ss);
  socklen_t ulen = loopback(AF_INET, env_int("NLT_UDP4_PORT"), &us);

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK_ERRNO(connect(fd, (struct sockaddr*)&ss, len), ECONNREFUSED);
  /* The same socket can try again once the daemon is back. */
  int nb = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK_ERRNO(connect(nb, (struct sockaddr*)&ss, len), ECONNREFUSED);
  close(nb);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK_ERRNO(sendto(u, "x", 1, 0, (struct sockaddr*)&us, ulen), ECONNREFUSED);
  struct addrinfo* res;
  CHECK(getaddrinfo("echo4.nltest", "80", NULL, &res) == EAI_AGAIN);
  CHECK(gethostbyname("echo4.nltest") == NULL && h_errno == TRY_AGAIN);
  /* Numeric hosts never need the daemon. */
  CHECK(getaddrinfo("127.0.0.1", "80", NULL, &res) == 0);
  freeaddrinfo(res);
  CHECK(getaddrinfo("::1", NULL, NULL, &res) == 0 && res->ai_family == AF_INET6);
  freeaddrinfo(res);

  printf("down-ok\n");
  fflush(stdout);
  char line[16];
  CHECK(fgets(line, sizeof line, stdin) != NULL && strncmp(line, "up", 2) == 0);

  CHECK_ERRNO(connect(fd, (struct sockaddr*)&ss, len), EACCES);
  CHECK_ERRNO(sendto(u, "x", 1, 0, (struct sockaddr*)&us, ulen), EACCES);
  CHECK(getaddrinfo("echo4.nltest", "80", NULL, &res) != 0);
  return 0;
}
