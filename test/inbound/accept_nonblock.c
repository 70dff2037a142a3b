/* Non-blocking accept: EAGAIN on an empty queue; accept4 applies
 * SOCK_NONBLOCK and SOCK_CLOEXEC to the new socket. */
#include <fcntl.h>
#include <poll.h>

#include "inbound_test.h"

int main(void) {
  int fd = listen_on(AF_INET, env_int("NLT_LISTEN_PORT"), 16);
  announce_and_get_real_port();
  CHECK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0);
  errno = 0;
  CHECK(accept(fd, NULL, NULL) == -1 && errno == EAGAIN);
  CHECK(accept4(fd, NULL, NULL, 0x40000000) == -1 && errno == EINVAL);

  ask_clients(2);
  struct pollfd p = {fd, POLLIN, 0};
  CHECK(poll(&p, 1, 10000) == 1 && (p.revents & POLLIN));
  int plain = accept4(fd, NULL, NULL, 0);
  CHECK(plain >= 0);
  CHECK((fcntl(plain, F_GETFL) & O_NONBLOCK) == 0);
  CHECK((fcntl(plain, F_GETFD) & FD_CLOEXEC) == 0);
  serve_client(plain);

  CHECK(poll(&p, 1, 10000) == 1);
  int flagged = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  CHECK(flagged >= 0);
  CHECK((fcntl(flagged, F_GETFL) & O_NONBLOCK) != 0);
  CHECK((fcntl(flagged, F_GETFD) & FD_CLOEXEC) != 0);
  CHECK(fcntl(flagged, F_SETFL, 0) == 0);
  serve_client(flagged);

  errno = 0;
  CHECK(accept(fd, NULL, NULL) == -1 && errno == EAGAIN);
  printf("done\n");
  return 0;
}
