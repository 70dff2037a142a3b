/* fork: the child can make connections and use inherited ones, even when
 * another thread of the parent was in the middle of a connect at fork time. */
#include <pthread.h>
#include <sys/wait.h>

#include "nltest.h"

static int port;

static void* connector(void* arg) {
  (void)arg;
  for (int i = 0; i < 200; ++i) {
    int fd = tcp_connect_loopback(AF_INET, port);
    close(fd);
  }
  return NULL;
}

int main(void) {
  port = env_int("NLT_TCP4_PORT");
  int inherited = tcp_connect_loopback(AF_INET, port);
  pthread_t busy;
  CHECK(pthread_create(&busy, NULL, connector, NULL) == 0);
  for (int round = 0; round < 20; ++round) {
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
      int fd = tcp_connect_loopback(AF_INET, port);
      echo_roundtrip(fd, "child connection");
      close(fd);
      int u = socket(AF_INET, SOCK_DGRAM, 0);
      struct sockaddr_storage ss;
      socklen_t len = loopback(AF_INET, env_int("NLT_UDP4_PORT"), &ss);
      CHECK(sendto(u, "child", 5, 0, (struct sockaddr*)&ss, len) == 5);
      char buf[8];
      CHECK(recv(u, buf, sizeof buf, 0) == 5);
      _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  CHECK(pthread_join(busy, NULL) == 0);
  /* The inherited connection still works in the parent after all that. */
  echo_roundtrip(inherited, "parent connection");
  pid_t pid = fork();
  if (pid == 0) {
    echo_roundtrip(inherited, "inherited in child");
    _exit(0);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return 0;
}
