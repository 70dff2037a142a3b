/* A reload that narrows `from` applies to a listener that already exists:
 * the next 127.0.0.1 client is turned away (and audited), the socket itself
 * keeps listening. */
#include <poll.h>

#include "inbound_test.h"

int main(void) {
  int fd = listen_on(AF_INET, env_int("NLT_LISTEN_PORT"), 8);
  announce_and_get_real_port();
  ask_clients(1);
  int conn = accept(fd, NULL, NULL);
  CHECK(conn >= 0);
  serve_client(conn);
  printf("narrow\n");
  fflush(stdout);
  char word[16];
  CHECK(scanf("%15s", word) == 1 && strcmp(word, "narrowed") == 0);
  printf("cutoff 2\n");
  fflush(stdout);
  struct pollfd p = {fd, POLLIN, 0};
  CHECK(poll(&p, 1, 500) == 0);  /* nothing reaches the app */
  printf("done\n");
  return 0;
}
