/* Helpers for the inbound test programs (one process per test). The runner
 * (run_inbound_test.py) starts a daemon with inbound rules for the app, gives
 * the program its virtual ports in the environment (NLT_LISTEN_PORT,
 * NLT_LISTEN_PORT6) and plays the clients on request: the program writes
 * commands on stdout and reads the answers (the real port, read from the
 * `listen` audit line, and so on) on stdin. */
#pragma once

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHECK(cond)                                                                         \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      fprintf(stderr, "%s:%d: CHECK(%s) failed (errno %d %s)\n", __FILE__, __LINE__, #cond, \
              errno, strerror(errno));                                                      \
      exit(1);                                                                              \
    }                                                                                       \
  } while (0)

static inline int env_int(const char* name) {
  const char* v = getenv(name);
  if (v == NULL) {
    fprintf(stderr, "missing environment variable %s\n", name);
    exit(2);
  }
  return atoi(v);
}

/* A virtual TCP listening socket on 127.0.0.1:port (or [::]:port with v6). */
static inline int listen_on(int family, int port, int backlog) {
  int fd = socket(family, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  int on = 1;
  CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  if (family == AF_INET) {
    struct sockaddr_in* sin = (struct sockaddr_in*)&ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((unsigned short)port);
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *sin;
  } else {
    struct sockaddr_in6* sin6 = (struct sockaddr_in6*)&ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((unsigned short)port);
    sin6->sin6_addr = in6addr_any;
    len = sizeof *sin6;
  }
  CHECK(bind(fd, (struct sockaddr*)&ss, len) == 0);
  CHECK(listen(fd, backlog) == 0);
  return fd;
}

/* Tells the runner we listen, and reads back the real (exposed) port. */
static inline int announce_and_get_real_port(void) {
  printf("listening\n");
  fflush(stdout);
  int port = 0;
  CHECK(scanf("%d", &port) == 1);
  return port;
}

/* The runner connects clients on request: "connect N\n" on stdout. */
static inline void ask_clients(int n) {
  printf("connect %d\n", n);
  fflush(stdout);
}

static inline void read_exactly(int fd, void* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char*)buf + got, n - got);
    CHECK(r > 0);
    got += (size_t)r;
  }
}

static inline int port_of(const struct sockaddr_storage* ss) {
  return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in*)ss)->sin_port
                                        : ((const struct sockaddr_in6*)ss)->sin6_port);
}

/* Serves one runner client: reads its "<port>\n" line, checks that the port
 * is what getpeername reports, echoes the line and closes. */
static inline void serve_client(int conn) {
  char line[32];
  size_t n = 0;
  while (n < sizeof line - 1) {
    ssize_t r = read(conn, line + n, 1);
    CHECK(r == 1);
    if (line[n++] == '\n') break;
  }
  line[n] = '\0';
  struct sockaddr_storage peer;
  socklen_t len = sizeof peer;
  CHECK(getpeername(conn, (struct sockaddr*)&peer, &len) == 0);
  CHECK(port_of(&peer) == atoi(line));
  CHECK(write(conn, line, n) == (ssize_t)n);
  CHECK(close(conn) == 0);
}
