/* syscall(): the network numbers go through the shim (a raw socket is
 * refused, a connect to a denied port gets EACCES, an allowed one works),
 * everything else is passed through with all its arguments. */
#include <fcntl.h>
#include <sys/syscall.h>

#include "nltest.h"

int main(void) {
  CHECK(syscall(SYS_getpid) == getpid());
  CHECK_ERRNO(syscall(SYS_socket, AF_INET, SOCK_RAW, IPPROTO_ICMP), EACCES);

  long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  struct sockaddr_storage ss;
  socklen_t len = loopback(AF_INET, env_int("NLT_DENIED_PORT"), &ss);
  CHECK_ERRNO(syscall(SYS_connect, fd, &ss, len), EACCES);
  CHECK(syscall(SYS_close, fd) == 0);

  fd = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
  len = loopback(AF_INET, env_int("NLT_TCP4_PORT"), &ss);
  CHECK(syscall(SYS_connect, fd, &ss, len) == 0);
  CHECK(syscall(SYS_sendto, fd, "sys", 3, 0, NULL, 0) == 3);
  char buf[8];
  read_exactly((int)fd, buf, 3);
  CHECK(memcmp(buf, "sys", 3) == 0);
  int domain;
  socklen_t dl = sizeof domain;
  CHECK(syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_DOMAIN, &domain, &dl) == 0 && domain == AF_INET);

  /* Six arguments forwarded intact: pread64 via syscall on a pipe fails the
   * same way as the libc call, and a 4-argument openat works. */
  long file = syscall(SYS_openat, AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC, 0);
  CHECK(file >= 0);
  CHECK(syscall(SYS_pread64, file, buf, 4, 0) == 4 && memcmp(buf, "Name", 4) == 0);
  CHECK(syscall(SYS_close, file) == 0);
  return 0;
}
