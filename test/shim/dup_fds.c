/* dup, dup2, dup3, F_DUPFD and F_DUPFD_CLOEXEC keep a virtual socket
 * managed under the new number; closing one copy leaves the others working;
 * close_range forgets the numbers it closes. */
#include <fcntl.h>

#include "nltest.h"

static void check_managed(int fd, int port) {
  int domain = 0;
  socklen_t len = sizeof domain;
  CHECK(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_INET);
  struct sockaddr_storage peer;
  len = sizeof peer;
  CHECK(getpeername(fd, (struct sockaddr*)&peer, &len) == 0 && port_of(&peer) == port);
}

int main(void) {
  int port = env_int("NLT_TCP4_PORT");
  int fd = tcp_connect_loopback(AF_INET, port);

  int a = dup(fd);
  CHECK(a >= 0);
  check_managed(a, port);
  int b = dup2(fd, 100);
  CHECK(b == 100);
  check_managed(b, port);
  int c = dup3(fd, 101, O_CLOEXEC);
  CHECK(c == 101 && (fcntl(c, F_GETFD) & FD_CLOEXEC));
  check_managed(c, port);
  int d = fcntl(fd, F_DUPFD, 200);
  CHECK(d >= 200);
  check_managed(d, port);
  int e = fcntl(fd, F_DUPFD_CLOEXEC, 300);
  CHECK(e >= 300 && (fcntl(e, F_GETFD) & FD_CLOEXEC));
  check_managed(e, port);

  /* Close copies one by one; the rest keep working. */
  CHECK(close(fd) == 0);
  echo_roundtrip(a, "after closing the original");
  CHECK(close(a) == 0);
  echo_roundtrip(b, "dup2 copy");
  CHECK(close(b) == 0);
  echo_roundtrip(c, "dup3 copy");
  CHECK(close(c) == 0);
  echo_roundtrip(d, "F_DUPFD copy");
  CHECK(close(d) == 0);
  echo_roundtrip(e, "F_DUPFD_CLOEXEC copy");

  /* dup2 over a virtual socket's number replaces it with what was duplicated. */
  int pipefd[2];
  CHECK(pipe(pipefd) == 0);
  CHECK(dup2(pipefd[0], e) == e);
  int domain;
  socklen_t len = sizeof domain;
  CHECK_ERRNO(getsockopt(e, SOL_SOCKET, SO_DOMAIN, &domain, &len), ENOTSOCK);
  close(pipefd[0]);
  close(pipefd[1]);
  close(e);

  /* A number reused after close is a fresh, unmanaged fd. */
  int s = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(s >= 0);
  CHECK(close(s) == 0);
  CHECK(pipe(pipefd) == 0);
  CHECK(write(pipefd[1], "p", 1) == 1);
  char ch;
  CHECK(read(pipefd[0], &ch, 1) == 1 && ch == 'p');

  /* close_range forgets what it closes. */
  int r1 = tcp_connect_loopback(AF_INET, port);
  int moved = dup2(r1, 500);
  CHECK(moved == 500);
  CHECK(close_range(500, 510, 0) == 0);
  int u = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(dup2(u, 500) == 500);
  len = sizeof domain;
  CHECK(getsockopt(500, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_UNIX);
  echo_roundtrip(r1, "original survives close_range of its copy");
  return 0;
}
