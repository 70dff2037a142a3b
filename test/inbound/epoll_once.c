/* epoll on the listening socket reports it readable once per waiting
 * connection, and not at all when the queue is empty. */
#include <fcntl.h>
#include <sys/epoll.h>

#include "inbound_test.h"

int main(void) {
  int fd = listen_on(AF_INET, env_int("NLT_LISTEN_PORT"), 16);
  announce_and_get_real_port();
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
  struct epoll_event out[4];
  CHECK(epoll_wait(ep, out, 4, 0) == 0);
  for (int i = 0; i < 5; ++i) {
    ask_clients(1);
    CHECK(epoll_wait(ep, out, 4, 10000) == 1);
    CHECK(out[0].data.fd == fd && (out[0].events & EPOLLIN));
    int conn = accept(fd, NULL, NULL);
    CHECK(conn >= 0);
    CHECK(epoll_wait(ep, out, 4, 0) == 0);  /* taken: nothing waits any more */
    serve_client(conn);
  }
  /* Edge-triggered: one wake-up for two connections that wait together. */
  CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
  ev.events = EPOLLIN | EPOLLET;
  CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) == 0);
  ask_clients(2);
  int accepted = 0;
  while (accepted < 2) {
    CHECK(epoll_wait(ep, out, 4, 10000) == 1);
    int conn;
    while ((conn = accept(fd, NULL, NULL)) >= 0) {
      serve_client(conn);
      ++accepted;
    }
    CHECK(errno == EAGAIN);
  }
  printf("done\n");
  return 0;
}
