/* A fixed echo loop for the system call count check: connects (blocking),
 * then N times write 64 bytes and read them back. Prints the socket's fd so
 * the checker can count exactly the calls made on it. */
#include "nltest.h"

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  int fd = tcp_connect_loopback(AF_INET, env_int("NLT_TCP4_PORT"));
  printf("fd %d\n", fd);
  fflush(stdout);
  char out[64], in[64];
  memset(out, 'e', sizeof out);
  for (int i = 0; i < n; ++i) {
    CHECK(write(fd, out, sizeof out) == (ssize_t)sizeof out);
    read_exactly(fd, in, sizeof in);
    CHECK(send(fd, out, sizeof out, 0) == (ssize_t)sizeof out);
    size_t got = 0;
    while (got < sizeof in) {
      ssize_t r = recv(fd, in + got, sizeof in - got, 0);
      CHECK(r > 0);
      got += (size_t)r;
    }
  }
  close(fd);
  return 0;
}
