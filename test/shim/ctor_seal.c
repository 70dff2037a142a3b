/* The seal holds before library constructors: ctor_seal_lib.c's constructor
 * made an AF_INET socket with a raw system call before main; the preinit hook
 * had sealed the process by then, so it got EACCES. The program's own
 * traffic through the shim still works. */
#include "nltest.h"

long ctor_socket_result(void);

int main(void) {
  long r = ctor_socket_result();
  if (r != -EACCES) {
    fprintf(stderr, "library constructor's raw socket(AF_INET) returned %ld, want %d\n", r, -EACCES);
    return 1;
  }
  int fd = tcp_connect_loopback(AF_INET, env_int("NLT_TCP4_PORT"));
  echo_roundtrip(fd, "after a sealed constructor");
  return 0;
}
