/* 1,000 concurrent inbound connections, each echoing 1 MiB byte-exact (the
 * unpatched echo_clients program sends, receives and checks). A thread per
 * connection: plain blocking I/O on the accepted sockets. */
#include <pthread.h>

#include "inbound_test.h"

enum { kConnections = 1000 };

static void* echo(void* arg) {
  int conn = (int)(long)arg;
  char buf[16384];
  for (;;) {
    ssize_t n = read(conn, buf, sizeof buf);
    CHECK(n >= 0);
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(conn, buf + done, (size_t)(n - done));
      CHECK(w > 0);
      done += w;
    }
  }
  CHECK(shutdown(conn, SHUT_WR) == 0);
  CHECK(close(conn) == 0);
  return NULL;
}

int main(void) {
  int fd = listen_on(AF_INET, env_int("NLT_LISTEN_PORT"), 1024);
  announce_and_get_real_port();
  printf("bulk %d %d\n", kConnections, 1 << 20);
  fflush(stdout);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (int i = 0; i < kConnections; ++i) {
    int conn = accept(fd, NULL, NULL);
    CHECK(conn >= 0);
    pthread_t t;
    CHECK(pthread_create(&t, &attr, echo, (void*)(long)conn) == 0);
  }
  char word[16];
  CHECK(scanf("%15s", word) == 1 && strcmp(word, "bulk-done") == 0);
  printf("done\n");
  return 0;
}
