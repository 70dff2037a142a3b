/* Several listening sockets of one app on one virtual port: with
 * SO_REUSEPORT on all of them they share the connections; without, the
 * second listen fails with EADDRINUSE; an IPv4 socket and an IPV6_V6ONLY
 * one share a port, IPv4 peers going to the IPv4 socket only, and once it
 * is closed IPv4 peers are turned away. Closing every socket closes the real
 * listener. */
#include <poll.h>

#include "inbound_test.h"

static int tcp_socket(int family, int reuseport, int v6only) {
  int fd = socket(family, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  int on = 1;
  if (reuseport) CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) == 0);
  if (family == AF_INET6) CHECK(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) == 0);
  return fd;
}

static int bind_listen(int fd, int family, int port, int loopback) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  if (family == AF_INET) {
    struct sockaddr_in* sin = (struct sockaddr_in*)&ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((unsigned short)port);
    sin->sin_addr.s_addr = htonl(loopback ? INADDR_LOOPBACK : INADDR_ANY);
    len = sizeof *sin;
  } else {
    struct sockaddr_in6* sin6 = (struct sockaddr_in6*)&ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((unsigned short)port);
    len = sizeof *sin6;
  }
  CHECK(bind(fd, (struct sockaddr*)&ss, len) == 0);
  return listen(fd, 16);
}

/* Accepts `n` connections from whichever of the sockets is readable. */
static void serve_from(int* fds, int count, int n, int* per_socket) {
  struct pollfd p[4];
  for (int i = 0; i < count; ++i) p[i] = (struct pollfd){fds[i], POLLIN, 0};
  while (n > 0) {
    CHECK(poll(p, (nfds_t)count, 10000) > 0);
    for (int i = 0; i < count; ++i) {
      if (!(p[i].revents & POLLIN)) continue;
      int conn = accept(fds[i], NULL, NULL);
      CHECK(conn >= 0);
      serve_client(conn);
      per_socket[i]++;
      --n;
    }
  }
}

int main(void) {
  int vport = env_int("NLT_LISTEN_PORT");
  int pair[2] = {tcp_socket(AF_INET, 1, 0), tcp_socket(AF_INET, 1, 0)};
  CHECK(bind_listen(pair[0], AF_INET, vport, 1) == 0);
  CHECK(bind_listen(pair[1], AF_INET, vport, 1) == 0);
  int intruder = tcp_socket(AF_INET, 0, 0);
  errno = 0;
  CHECK(bind_listen(intruder, AF_INET, vport, 1) == -1 && errno == EADDRINUSE);
  announce_and_get_real_port();
  ask_clients(10);
  int counts[2] = {0, 0};
  serve_from(pair, 2, 10, counts);
  fprintf(stderr, "SO_REUSEPORT: %d and %d connections\n", counts[0], counts[1]);
  CHECK(counts[0] > 0 && counts[1] > 0);
  CHECK(close(pair[0]) == 0 && close(pair[1]) == 0);
  printf("closed\n");
  fflush(stdout);
  char word[16];
  CHECK(scanf("%15s", word) == 1);

  int vport6 = env_int("NLT_LISTEN_PORT6");
  int v4 = tcp_socket(AF_INET, 0, 0);
  int v6 = tcp_socket(AF_INET6, 0, 1);
  int dual = tcp_socket(AF_INET6, 0, 0);
  CHECK(bind_listen(v4, AF_INET, vport6, 0) == 0);
  CHECK(bind_listen(v6, AF_INET6, vport6, 0) == 0);
  errno = 0;
  CHECK(bind_listen(dual, AF_INET6, vport6, 0) == -1 && errno == EADDRINUSE);
  announce_and_get_real_port();
  ask_clients(3);
  int both[2] = {v4, v6};
  int per_family[2] = {0, 0};
  serve_from(both, 2, 3, per_family);
  CHECK(per_family[0] == 3 && per_family[1] == 0);
  CHECK(close(v4) == 0);
  printf("cutoff 2\n");  /* only the IPV6_V6ONLY socket is left: IPv4 peers are turned away */
  fflush(stdout);
  struct pollfd p = {v6, POLLIN, 0};
  CHECK(poll(&p, 1, 500) == 0);
  printf("done\n");
  return 0;
}
