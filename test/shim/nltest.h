/* Tiny assertion helpers for the shim's test programs (one process per
 * test, libuv style): a failed CHECK prints where and why, and exits 1. The
 * runner (run_shim_test.py) passes servers and ports through the environment. */
#pragma once

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond)                                                                             \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      fprintf(stderr, "%s:%d: CHECK(%s) failed (errno %d %s)\n", __FILE__, __LINE__, #cond,     \
              errno, strerror(errno));                                                          \
      exit(1);                                                                                  \
    }                                                                                           \
  } while (0)

/* A call expected to fail with a given errno. */
#define CHECK_ERRNO(call, err)                                                                  \
  do {                                                                                          \
    errno = 0;                                                                                  \
    long r_ = (long)(call);                                                                     \
    if (r_ != -1 || errno != (err)) {                                                           \
      fprintf(stderr, "%s:%d: %s returned %ld errno %d (%s), expected -1 errno %d (%s)\n",      \
              __FILE__, __LINE__, #call, r_, errno, strerror(errno), (err), strerror(err));     \
      exit(1);                                                                                  \
    }                                                                                           \
  } while (0)

static inline int env_int(const char* name) {
  const char* v = getenv(name);
  if (v == NULL) {
    fprintf(stderr, "missing environment variable %s\n", name);
    exit(2);
  }
  return atoi(v);
}

/* Fills a sockaddr_storage for 127.0.0.1 or ::1 and the given port. */
static inline socklen_t loopback(int family, int port, struct sockaddr_storage* ss) {
  memset(ss, 0, sizeof *ss);
  if (family == AF_INET) {
    struct sockaddr_in* sin = (struct sockaddr_in*)ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((unsigned short)port);
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof *sin;
  }
  struct sockaddr_in6* sin6 = (struct sockaddr_in6*)ss;
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons((unsigned short)port);
  sin6->sin6_addr = in6addr_loopback;
  return sizeof *sin6;
}

static inline int port_of(const struct sockaddr_storage* ss) {
  return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in*)ss)->sin_port
                                        : ((const struct sockaddr_in6*)ss)->sin6_port);
}

static inline double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Blocking connect of a new TCP socket to loopback:port. */
static inline int tcp_connect_loopback(int family, int port) {
  struct sockaddr_storage ss;
  socklen_t len = loopback(family, port, &ss);
  int fd = socket(family, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  CHECK(connect(fd, (struct sockaddr*)&ss, len) == 0);
  return fd;
}

/* Reads exactly n bytes (blocking). */
static inline void read_exactly(int fd, void* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char*)buf + got, n - got);
    CHECK(r > 0);
    got += (size_t)r;
  }
}

/* Writes a message and expects the echo server to send it back. */
static inline void echo_roundtrip(int fd, const char* msg) {
  size_t n = strlen(msg);
  char buf[4096];
  CHECK(n < sizeof buf);
  CHECK(write(fd, msg, n) == (ssize_t)n);
  read_exactly(fd, buf, n);
  CHECK(memcmp(buf, msg, n) == 0);
}
