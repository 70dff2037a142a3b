/* 150 threads each resolve a name and connect at the same time, while one
 * more thread is stuck in a connect the daemon cannot finish quickly: nobody
 * queues behind it (no global lock across a daemon round trip). */
#include <netdb.h>
#include <pthread.h>

#include "nltest.h"

#define THREADS 150

static int port;
static volatile int slow_done;
static char service[16];

static void* worker(void* arg) {
  long id = (long)arg;
  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  int r = getaddrinfo("echo4.nltest", service, &hints, &res);
  if (r != 0) {
    fprintf(stderr, "thread %ld: getaddrinfo: %s\n", id, gai_strerror(r));
    exit(1);
  }
  int fd = socket(res->ai_family, res->ai_socktype, 0);
  CHECK(fd >= 0);
  CHECK(connect(fd, res->ai_addr, res->ai_addrlen) == 0);
  freeaddrinfo(res);
  char msg[32];
  snprintf(msg, sizeof msg, "thread %ld", id);
  echo_roundtrip(fd, msg);
  CHECK(close(fd) == 0);
  return NULL;
}

static void* slow(void* arg) {
  (void)arg;
  /* The runner's blackhole port is allowed and never answers. */
  struct sockaddr_storage ss;
  socklen_t len = loopback(AF_INET, env_int("NLT_BLACKHOLE_PORT"), &ss);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(connect(fd, (struct sockaddr*)&ss, len) == -1 && errno == ETIMEDOUT);
  close(fd);
  slow_done = 1;
  return NULL;
}

int main(void) {
  port = env_int("NLT_TCP4_PORT");
  snprintf(service, sizeof service, "%d", port);
  pthread_t slow_thread, t[THREADS];
  CHECK(pthread_create(&slow_thread, NULL, slow, NULL) == 0);
  double t0 = now_ms();
  for (long i = 0; i < THREADS; ++i) CHECK(pthread_create(&t[i], NULL, worker, (void*)i) == 0);
  for (int i = 0; i < THREADS; ++i) CHECK(pthread_join(t[i], NULL) == 0);
  double dt = now_ms() - t0;
  printf("%d threads resolved, connected and echoed in %.1f ms\n", THREADS, dt);
  /* The slow connect takes the daemon's connect timeout; nobody waited for it. */
  CHECK(!slow_done);
  CHECK(pthread_join(slow_thread, NULL) == 0);
  return 0;
}
