/* Connects to NLT_TCP4_PORT and prints "ok" or the errno name. Run by
 * secure_exec.py as a plain program and as a setuid one. */
#include "nltest.h"

int main(void) {
  struct sockaddr_storage ss;
  socklen_t len = loopback(AF_INET, env_int("NLT_TCP4_PORT"), &ss);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  if (connect(fd, (struct sockaddr*)&ss, len) == 0) {
    echo_roundtrip(fd, "secure");
    printf("ok\n");
  } else {
    printf("%s\n", errno == ECONNREFUSED ? "ECONNREFUSED" : errno == EACCES ? "EACCES" : strerror(errno));
  }
  return 0;
}
