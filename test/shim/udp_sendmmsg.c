/* sendmmsg mixing allowed and denied destinations: the allowed prefix is
 * sent and counted, nothing from the denied one onwards leaves (the runner
 * checks the denied server saw nothing); recvmmsg gets the echoes back. */
#include <sys/uio.h>

#include "nltest.h"

int main(void) {
  struct sockaddr_storage ok, bad;
  socklen_t oklen = loopback(AF_INET, env_int("NLT_UDP4_PORT"), &ok);
  socklen_t badlen = loopback(AF_INET, env_int("NLT_DENIED_UDP_PORT"), &bad);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(fd >= 0);

  struct mmsghdr v[4];
  struct iovec iov[4];
  static const char* payload[4] = {"one", "two", "denied", "four"};
  memset(v, 0, sizeof v);
  for (int i = 0; i < 4; ++i) {
    iov[i].iov_base = (void*)payload[i];
    iov[i].iov_len = strlen(payload[i]);
    v[i].msg_hdr.msg_iov = &iov[i];
    v[i].msg_hdr.msg_iovlen = 1;
    v[i].msg_hdr.msg_name = i == 2 ? &bad : &ok;
    v[i].msg_hdr.msg_namelen = i == 2 ? badlen : oklen;
  }
  CHECK(sendmmsg(fd, v, 4, 0) == 2);
  CHECK(v[0].msg_len == 3 && v[1].msg_len == 3);
  /* Starting at the denied one: nothing sent, EACCES. */
  CHECK_ERRNO(sendmmsg(fd, v + 2, 2, 0), EACCES);
  /* The rest after it goes on its own. */
  CHECK(sendmmsg(fd, v + 3, 1, 0) == 1);

  char bufs[3][64];
  struct iovec riov[3];
  struct mmsghdr r[3];
  struct sockaddr_storage from[3];
  memset(r, 0, sizeof r);
  for (int i = 0; i < 3; ++i) {
    riov[i].iov_base = bufs[i];
    riov[i].iov_len = sizeof bufs[i];
    r[i].msg_hdr.msg_iov = &riov[i];
    r[i].msg_hdr.msg_iovlen = 1;
    r[i].msg_hdr.msg_name = &from[i];
    r[i].msg_hdr.msg_namelen = sizeof from[i];
  }
  int got = 0;
  while (got < 3) {
    int n = recvmmsg(fd, r + got, (unsigned)(3 - got), MSG_WAITFORONE, NULL);
    CHECK(n > 0);
    got += n;
  }
  CHECK(r[0].msg_len == 3 && memcmp(bufs[0], "one", 3) == 0);
  CHECK(r[1].msg_len == 3 && memcmp(bufs[1], "two", 3) == 0);
  CHECK(r[2].msg_len == 4 && memcmp(bufs[2], "four", 4) == 0);
  CHECK(port_of(&from[2]) == env_int("NLT_UDP4_PORT"));
  close(fd);
  return 0;
}
