/* A blocking accept on an empty queue waits until a client arrives; a peer
 * outside `from` never reaches the app (the runner checks its audit line). */
#include <poll.h>
#include <pthread.h>

#include "inbound_test.h"

static int g_listener;
static volatile int g_accepted = -1;

static void* accepter(void* arg) {
  (void)arg;
  g_accepted = accept(g_listener, NULL, NULL);
  return NULL;
}

int main(void) {
  g_listener = listen_on(AF_INET, env_int("NLT_LISTEN_PORT"), 16);
  announce_and_get_real_port();
  printf("denied 2\n");
  fflush(stdout);
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, accepter, NULL) == 0);
  /* Proving a negative needs some time: the accept must still be waiting
   * (the denied peers must not have woken it either). */
  poll(NULL, 0, 300);
  CHECK(g_accepted == -1);
  ask_clients(1);
  CHECK(pthread_join(thread, NULL) == 0);
  CHECK(g_accepted >= 0);
  serve_client(g_accepted);
  printf("done\n");
  return 0;
}
