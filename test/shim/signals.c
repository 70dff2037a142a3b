/* Signals during a blocking connect that the daemon takes long to finish
 * (the runner's blackhole port): a handler without SA_RESTART interrupts it
 * with EINTR, after which the connect goes on (EALREADY on non-blocking
 * retry); with SA_RESTART it is resumed and reports the real upstream
 * outcome (ETIMEDOUT). Established connections are not disturbed. */
#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>

#include "nltest.h"

static volatile int fired;

static void on_alarm(int sig) {
  (void)sig;
  fired++;
}

static void arm(int restart) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = restart ? SA_RESTART : 0;
  CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
  struct itimerval it = {{0, 0}, {0, 200000}};
  CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
}

int main(void) {
  struct sockaddr_storage ss;
  socklen_t len = loopback(AF_INET, env_int("NLT_BLACKHOLE_PORT"), &ss);

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  arm(0);
  CHECK_ERRNO(connect(fd, (struct sockaddr*)&ss, len), EINTR);
  CHECK(fired == 1);
  CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
  CHECK_ERRNO(connect(fd, (struct sockaddr*)&ss, len), EALREADY);
  CHECK(fcntl(fd, F_SETFL, 0) == 0);
  CHECK_ERRNO(connect(fd, (struct sockaddr*)&ss, len), ETIMEDOUT); /* blocking again: waits for the outcome */
  close(fd);

  fd = socket(AF_INET, SOCK_STREAM, 0);
  arm(1);
  double t0 = now_ms();
  CHECK_ERRNO(connect(fd, (struct sockaddr*)&ss, len), ETIMEDOUT);
  CHECK(fired == 2 && now_ms() - t0 > 300);
  close(fd);

  /* A signal while reading an established connection: EINTR without
   * SA_RESTART, as for any socket (the shim adds nothing on this path). */
  int e = tcp_connect_loopback(AF_INET, env_int("NLT_TCP4_PORT"));
  arm(0);
  char c;
  CHECK_ERRNO(read(e, &c, 1), EINTR);
  echo_roundtrip(e, "still fine");
  return 0;
}
