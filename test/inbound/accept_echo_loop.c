/* For accepted_syscalls.py: accepts one connection on NLT_LISTEN_PORT, says
 * its fd, then echoes one byte at a time until EOF. */
#include "inbound_test.h"

int main(void) {
  int fd = listen_on(AF_INET, env_int("NLT_LISTEN_PORT"), 4);
  printf("listening\n");
  fflush(stdout);
  int conn = accept(fd, NULL, NULL);
  CHECK(conn >= 0);
  printf("fd %d\n", conn);
  fflush(stdout);
  char byte;
  while (read(conn, &byte, 1) == 1) CHECK(write(conn, &byte, 1) == 1);
  return 0;
}
