/* Non-blocking connect: EINPROGRESS, POLLOUT only once the upstream connect
 * is done, SO_ERROR, echo; no readable event before data; servers that speak
 * first, close or reset; a socket made blocking while connecting; an allowed destination that refuses (SO_ERROR and
 * first write report ECONNREFUSED, the caller never blocks); a denied one
 * fails at once with EACCES. Prints the denied-connect latency. */
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>

#include "nltest.h"

static int nb_socket(int family) {
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK(fd >= 0);
  return fd;
}

static int start(int fd, int family, int port) {
  struct sockaddr_storage ss;
  socklen_t len = loopback(family, port, &ss);
  return connect(fd, (struct sockaddr*)&ss, len);
}

static void wait_writable(int fd) {
  struct pollfd p = {fd, POLLOUT, 0};
  CHECK(poll(&p, 1, 10000) == 1);
  CHECK(p.revents & POLLOUT);
}

static int so_error(int fd) {
  int err = -1;
  socklen_t len = sizeof err;
  CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
  return err;
}

static void allowed(int family, int port) {
  int fd = nb_socket(family);
  CHECK_ERRNO(start(fd, family, port), EINPROGRESS);
  /* Until POLLOUT a second connect says EALREADY; once connected it
   * reports success once, then EISCONN (as the kernel does). */
  int again = start(fd, family, port);
  CHECK(again == 0 || errno == EALREADY);
  wait_writable(fd);
  struct sockaddr_storage peer;
  socklen_t plen = sizeof peer;
  CHECK(getpeername(fd, (struct sockaddr*)&peer, &plen) == 0 && port_of(&peer) == port);
  CHECK(so_error(fd) == 0);
  if (again != 0) CHECK(start(fd, family, port) == 0);
  CHECK_ERRNO(start(fd, family, port), EISCONN);
  char buf[16];
  CHECK_ERRNO(read(fd, buf, sizeof buf), EAGAIN);
  CHECK(write(fd, "ping", 4) == 4);
  struct pollfd p = {fd, POLLIN, 0};
  CHECK(poll(&p, 1, 10000) == 1);
  CHECK(read(fd, buf, sizeof buf) == 4 && memcmp(buf, "ping", 4) == 0);
  close(fd);
}

static void refused(int family, int port) {
  /* With SO_ERROR. */
  int fd = nb_socket(family);
  double t0 = now_ms();
  CHECK_ERRNO(start(fd, family, port), EINPROGRESS);
  CHECK(now_ms() - t0 < 1000);
  wait_writable(fd);
  struct sockaddr_storage peer;
  socklen_t plen = sizeof peer;
  CHECK_ERRNO(getpeername(fd, (struct sockaddr*)&peer, &plen), ENOTCONN); /* keeps the error */
  CHECK(so_error(fd) == ECONNREFUSED);
  CHECK(so_error(fd) == 0); /* reported once */
  close(fd);
  /* Without SO_ERROR: the first write says it (never a silent EOF). */
  fd = nb_socket(family);
  CHECK_ERRNO(start(fd, family, port), EINPROGRESS);
  wait_writable(fd);
  CHECK_ERRNO(write(fd, "x", 1), ECONNREFUSED);
  close(fd);
  /* Without SO_ERROR, the first read says it too. */
  fd = nb_socket(family);
  CHECK_ERRNO(start(fd, family, port), EINPROGRESS);
  wait_writable(fd);
  char c;
  CHECK_ERRNO(read(fd, &c, 1), ECONNREFUSED);
  close(fd);
}

static void denied(int family, int port) {
  int fd = nb_socket(family);
  double t0 = now_ms();
  CHECK_ERRNO(start(fd, family, port), EACCES);
  double dt = now_ms() - t0;
  printf("denied non-blocking connect latency: %.3f ms\n", dt);
  CHECK(dt < 1000);
  close(fd);
}

/* An upstream connect that takes its time: the fd stays unwritable (the
 * padding trick), SO_ERROR says 0, reads and writes say EAGAIN, and an
 * edge-triggered epoll registered before connect() reports EPOLLOUT when
 * the outcome (here the daemon's connect timeout) is in. */
static void pending(int port) {
  int fd = nb_socket(AF_INET);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  CHECK(ep >= 0);
  struct epoll_event ev = {EPOLLOUT | EPOLLIN | EPOLLET, {.fd = fd}};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
  CHECK(epoll_wait(ep, &ev, 1, 0) >= 0); /* whatever an unconnected socket reports */
  CHECK_ERRNO(start(fd, AF_INET, port), EINPROGRESS);
  struct pollfd p = {fd, POLLOUT, 0};
  CHECK(poll(&p, 1, 300) == 0);
  CHECK(so_error(fd) == 0);
  char c;
  CHECK_ERRNO(read(fd, &c, 1), EAGAIN);
  CHECK_ERRNO(write(fd, "x", 1), EAGAIN);
  CHECK_ERRNO(start(fd, AF_INET, port), EALREADY);
  struct sockaddr_storage peer;
  socklen_t len = sizeof peer;
  CHECK_ERRNO(getpeername(fd, (struct sockaddr*)&peer, &len), ENOTCONN);
  double t0 = now_ms();
  int n;
  do n = epoll_wait(ep, &ev, 1, 10000);
  while (n == 1 && !(ev.events & EPOLLOUT));
  CHECK(n == 1 && (ev.events & EPOLLOUT));
  printf("pending connect reported after %.0f ms\n", now_ms() - t0);
  CHECK(so_error(fd) == ETIMEDOUT);
  close(fd);
  close(ep);
}

/* Real TCP never signals readability before data: after POLLOUT (success)
 * the socket is not readable until the peer sends. An edge-triggered epoll
 * registered before connect() sees EPOLLOUT without EPOLLIN (wrk reads on
 * EPOLLIN and counts EAGAIN as an error). */
static void no_readable_before_data(int port) {
  int fd = nb_socket(AF_INET);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  CHECK(ep >= 0);
  struct epoll_event ev = {EPOLLOUT | EPOLLIN | EPOLLET, {.fd = fd}};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
  CHECK_ERRNO(start(fd, AF_INET, port), EINPROGRESS);
  unsigned seen = 0;
  while (!(seen & EPOLLOUT)) {
    CHECK(epoll_wait(ep, &ev, 1, 10000) == 1);
    seen |= ev.events;
  }
  CHECK(!(seen & EPOLLIN));
  struct pollfd p = {fd, POLLIN, 0};
  CHECK(poll(&p, 1, 0) == 0);
  CHECK(so_error(fd) == 0);
  CHECK(write(fd, "ping", 4) == 4);
  do CHECK(epoll_wait(ep, &ev, 1, 10000) == 1);
  while (!(ev.events & EPOLLIN));
  char buf[16];
  CHECK(read(fd, buf, sizeof buf) == 4 && memcmp(buf, "ping", 4) == 0);
  close(fd);
  close(ep);
}

/* A server that speaks first: the first readable event carries its bytes,
 * exactly, then EOF. One that closes at once: EOF, no error. One that resets
 * before sending: ECONNRESET, never a silent EOF. */
static void server_speaks_first(int port) {
  int fd = nb_socket(AF_INET);
  CHECK_ERRNO(start(fd, AF_INET, port), EINPROGRESS);
  struct pollfd p = {fd, POLLIN, 0};
  CHECK(poll(&p, 1, 10000) == 1);
  char buf[16];
  CHECK(read(fd, buf, sizeof buf) == 6 && memcmp(buf, "hello\n", 6) == 0);
  CHECK(poll(&p, 1, 10000) == 1);
  CHECK(read(fd, buf, sizeof buf) == 0);
  close(fd);
}

static void server_closes(int port) {
  int fd = nb_socket(AF_INET);
  CHECK_ERRNO(start(fd, AF_INET, port), EINPROGRESS);
  wait_writable(fd);
  CHECK(so_error(fd) == 0);
  struct pollfd p = {fd, POLLIN, 0};
  CHECK(poll(&p, 1, 10000) == 1);
  char c;
  CHECK(read(fd, &c, 1) == 0);
  close(fd);
}

static void server_resets(int port) {
  int fd = nb_socket(AF_INET);
  CHECK_ERRNO(start(fd, AF_INET, port), EINPROGRESS);
  struct pollfd p = {fd, POLLIN, 0};
  CHECK(poll(&p, 1, 10000) == 1);
  char c;
  CHECK_ERRNO(recv(fd, &c, 1, 0), ECONNRESET);
  CHECK(recv(fd, &c, 1, 0) == 0); /* reported once, then as a dead TCP socket */
  close(fd);
}

/* EINPROGRESS, then the program makes the socket blocking and writes: the
 * write waits for the outcome (it must not wait for data that never comes
 * before the request is sent). */
static void blocking_after_einprogress(int port) {
  int fd = nb_socket(AF_INET);
  CHECK_ERRNO(start(fd, AF_INET, port), EINPROGRESS);
  CHECK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0);
  CHECK(write(fd, "ping", 4) == 4);
  char buf[4];
  CHECK(recv(fd, buf, 4, MSG_WAITALL) == 4 && memcmp(buf, "ping", 4) == 0);
  close(fd);
}

int main(void) {
  allowed(AF_INET, env_int("NLT_TCP4_PORT"));
  allowed(AF_INET6, env_int("NLT_TCP6_PORT"));
  refused(AF_INET, env_int("NLT_REFUSED_PORT"));
  refused(AF_INET6, env_int("NLT_REFUSED_PORT"));
  denied(AF_INET, env_int("NLT_DENIED_PORT"));
  denied(AF_INET6, env_int("NLT_DENIED_PORT"));
  pending(env_int("NLT_BLACKHOLE_PORT"));
  no_readable_before_data(env_int("NLT_TCP4_PORT"));
  server_speaks_first(env_int("NLT_GREET_PORT"));
  server_closes(env_int("NLT_CLOSE_PORT"));
  server_resets(env_int("NLT_RESET_PORT"));
  blocking_after_einprogress(env_int("NLT_TCP4_PORT"));
  return 0;
}
