/* exec: a patched program runs an unpatched one. A SOCK_CLOEXEC socket is
 * gone in the child, an inherited one is still a working connection (the
 * child writes through it with plain libc calls and no shim). */
#include <fcntl.h>
#include <sys/wait.h>

#include "nltest.h"

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  int port = env_int("NLT_TCP4_PORT");
  int keep = tcp_connect_loopback(AF_INET, port);
  struct sockaddr_storage ss;
  socklen_t len = loopback(AF_INET, port, &ss);
  int gone = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(gone >= 0 && connect(gone, (struct sockaddr*)&ss, len) == 0);

  char script[256];
  snprintf(script, sizeof script,
           "test ! -e /proc/self/fd/%d || exit 3; printf inherited >&%d || exit 4", gone, keep);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", script, (char*)NULL);
    _exit(127);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  char buf[16];
  read_exactly(keep, buf, 9);
  CHECK(memcmp(buf, "inherited", 9) == 0);
  echo_roundtrip(gone, "parent still fine");
  return 0;
}
