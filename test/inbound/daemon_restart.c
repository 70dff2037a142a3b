/* The daemon restarts while a server listens: accept then fails with
 * ECONNABORTED (the listener is gone for good); the server closes the socket
 * and listens again, which fails closed (ECONNREFUSED) while no daemon runs
 * and stays closed (EACCES) once one is back: the new daemon does not know
 * the process's tree (docs/identity.md). See src/shim/README.md, "Inbound". */
#include "inbound_test.h"

static void expect(const char* word) {
  char got[32];
  CHECK(scanf("%31s", got) == 1);
  CHECK(strcmp(got, word) == 0);
}

static void serve_one(int fd) {
  announce_and_get_real_port();
  ask_clients(1);
  int conn = accept(fd, NULL, NULL);
  CHECK(conn >= 0);
  serve_client(conn);
}

int main(void) {
  int vport = env_int("NLT_LISTEN_PORT");
  int fd = listen_on(AF_INET, vport, 8);
  serve_one(fd);

  printf("stop\n");
  fflush(stdout);
  expect("stopped");
  for (int i = 0; i < 2; ++i) {  /* from then on, every time */
    errno = 0;
    CHECK(accept(fd, NULL, NULL) == -1 && errno == ECONNABORTED);
  }
  CHECK(close(fd) == 0);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((unsigned short)vport)};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(bind(fd, (struct sockaddr*)&sin, sizeof sin) == 0);
  errno = 0;
  CHECK(listen(fd, 8) == -1 && errno == ECONNREFUSED);

  printf("start\n");
  fflush(stdout);
  expect("started");
  errno = 0;
  CHECK(listen(fd, 8) == -1 && errno == EACCES);
  printf("done\n");
  return 0;
}
