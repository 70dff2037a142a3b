/* Pre-forked servers: two processes accept on one inherited listening
 * socket; every connection goes to exactly one of them (the runner checks
 * that each client is answered exactly once). The parent closes its own copy
 * first: the listener lives while any copy does. */
#include <signal.h>
#include <sys/wait.h>

#include "inbound_test.h"

enum { kClients = 40, kWorkers = 2 };

int main(void) {
  int fd = listen_on(AF_INET, env_int("NLT_LISTEN_PORT"), 64);
  announce_and_get_real_port();
  int served[2];
  CHECK(pipe(served) == 0);
  pid_t workers[kWorkers];
  for (int w = 0; w < kWorkers; ++w) {
    workers[w] = fork();
    CHECK(workers[w] >= 0);
    if (workers[w] == 0) {
      for (;;) {
        int conn = accept(fd, NULL, NULL);
        CHECK(conn >= 0);
        serve_client(conn);
        char id = (char)('0' + w);
        CHECK(write(served[1], &id, 1) == 1);
      }
    }
  }
  CHECK(close(fd) == 0);
  ask_clients(kClients);
  int per_worker[kWorkers] = {0};
  for (int i = 0; i < kClients; ++i) {
    char id;
    CHECK(read(served[0], &id, 1) == 1);
    per_worker[id - '0']++;
  }
  for (int w = 0; w < kWorkers; ++w) {
    kill(workers[w], SIGTERM);
    int status;
    CHECK(waitpid(workers[w], &status, 0) == workers[w]);
  }
  fprintf(stderr, "connections per worker: %d %d\n", per_worker[0], per_worker[1]);
  printf("done\n");
  return 0;
}
